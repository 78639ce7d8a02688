//! Retrieval from IPFS HTTP gateways, trustless first.
//!
//! Gateways are tried in the configured order. From each, the verifiable CAR
//! (`/ipfs/{cid}?format=car`) is asked for first and checked block by block;
//! if the gateway cannot serve it, the plain bytes (`/ipfs/{cid}`) are fetched
//! and the DAG rebuilt with the configured import profiles. A gateway is
//! never believed: what it sends either hashes to the CID or is discarded.
//! Fetching follows the one policy of [`crate::retrieval`] (redirects,
//! secrets, time limits, size cap).

use std::fmt;

use cid::Cid;
use taskproof_core::deadline::Expired;
use tokio::time::Instant;

use super::{
    bytes_check::{BytesCheck, BytesCheckError, ContentMatch},
    car::{CarError, CarLimits, verify_car},
    profile::ImportProfile,
};
use crate::retrieval::{
    Endpoint, EndpointFailure, FetchError, Fetcher, RedactedUrl, RetrievalPolicy, Stopped,
    Transient, WorkerPanicked, stopped_by, stream_body,
};

/// What the trustless gateway spec calls a CAR response, in DFS order with
/// duplicate blocks repeated so the file streams in constant memory.
const CAR_ACCEPT: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=y";

/// How the content was obtained and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proven {
    /// A CAR, every block checked.
    Car,
    /// Plain bytes, rebuilt into the CID.
    Plain(ContentMatch),
}

/// Content retrieved and proven to be what the CID names.
#[derive(Clone, Debug)]
pub struct Retrieved {
    /// The gateway that served it.
    pub gateway: RedactedUrl,
    /// How it was checked.
    pub proven: Proven,
    /// The file size.
    pub size: u64,
    /// The content, when asked to keep it.
    pub content: Option<Vec<u8>>,
}

/// Why one request to a gateway proved nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The gateway gave no usable response.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The CAR it served does not hold the CID's file.
    #[error(transparent)]
    Car(CarError),
    /// The bytes it served do not rebuild into the CID.
    #[error(transparent)]
    Bytes(BytesCheckError),
    /// The verification's deadline passed while checking.
    #[error(transparent)]
    Expired(Expired),
    /// The checking thread failed.
    #[error(transparent)]
    Worker(WorkerPanicked),
}

impl Transient for GatewayError {
    fn is_transient(&self) -> bool {
        matches!(self, Self::Fetch(e) if e.is_transient())
    }
}

impl From<CarError> for GatewayError {
    fn from(e: CarError) -> Self {
        match &e {
            CarError::Read(io) => match stopped_by(io) {
                Some(Stopped::Fetch(fetch)) => Self::Fetch(fetch),
                Some(Stopped::Expired) => Self::Expired(Expired),
                None => Self::Car(e),
            },
            _ => Self::Car(e),
        }
    }
}

/// Why a gateway delivered nothing: its CAR, and its plain bytes if tried.
#[derive(Debug)]
pub struct GatewayFailure {
    /// Why the CAR proved nothing.
    pub car: GatewayError,
    /// Why the plain bytes proved nothing (None: not tried).
    pub plain: Option<GatewayError>,
}

impl GatewayFailure {
    /// Whether the verification's deadline stopped it.
    pub fn expired(&self) -> bool {
        matches!(self.car, GatewayError::Expired(_))
            || matches!(self.plain, Some(GatewayError::Expired(_)))
    }
}

impl fmt::Display for GatewayFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CAR: {}", self.car)?;
        if let Some(plain) = &self.plain {
            write!(f, "; plain: {plain}")?;
        }
        Ok(())
    }
}

/// The configured gateways and how to use them.
#[derive(Clone, Debug)]
pub struct Gateways {
    fetcher: Fetcher,
    gateways: Vec<Endpoint>,
    profiles: Vec<ImportProfile>,
    max_size: u64,
    plain_fallback: bool,
}

type Checked = (Proven, u64, Option<Vec<u8>>);

impl Gateways {
    /// Gateways tried in order, with the profiles the plain fallback may
    /// rebuild with (none: no fallback). `max_size` is the largest file.
    pub fn new(
        gateways: Vec<Endpoint>,
        profiles: Vec<ImportProfile>,
        policy: RetrievalPolicy,
        max_size: u64,
        plain_fallback: bool,
    ) -> Result<Self, FetchError> {
        Ok(Self {
            fetcher: Fetcher::new(policy)?,
            gateways,
            profiles,
            max_size,
            plain_fallback,
        })
    }

    /// The retrieval policy.
    pub fn policy(&self) -> &RetrievalPolicy {
        self.fetcher.policy()
    }

    /// Fetches `cid` from the first gateway that proves it, keeping the
    /// content when `keep`. On failure, says why for every gateway tried (the
    /// last one stopped by the deadline, if it passed).
    pub async fn retrieve(
        &self,
        cid: Cid,
        keep: bool,
    ) -> Result<Retrieved, Vec<EndpointFailure<GatewayFailure>>> {
        let deadline = Instant::now() + self.policy().total_timeout;
        let mut failures = Vec::new();
        for gateway in &self.gateways {
            let car = match self.try_route(deadline, gateway, cid, keep, true).await {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let mut failure = GatewayFailure { car, plain: None };
            if self.plain_fallback && !self.profiles.is_empty() && !failure.expired() {
                match self.try_route(deadline, gateway, cid, keep, false).await {
                    Ok(r) => return Ok(r),
                    Err(e) => failure.plain = Some(e),
                }
            }
            let stop = failure.expired();
            failures.push(EndpointFailure {
                endpoint: gateway.redacted().clone(),
                error: failure,
            });
            if stop {
                break;
            }
        }
        Err(failures)
    }

    async fn try_route(
        &self,
        deadline: Instant,
        gateway: &Endpoint,
        cid: Cid,
        keep: bool,
        car: bool,
    ) -> Result<Retrieved, GatewayError> {
        let name = cid.to_string();
        let (target, accept) = if car {
            (
                gateway.join(&["ipfs", &name], Some(("format", "car"))),
                CAR_ACCEPT,
            )
        } else {
            (
                gateway.join(&["ipfs", &name], None),
                "application/octet-stream",
            )
        };
        let (proven, size, content) = self
            .fetcher
            .retrying(deadline, || async {
                let response = self.fetcher.open(&target, Some(accept)).await?;
                if car {
                    self.check_car(response, cid, keep).await
                } else {
                    self.check_plain(response, cid, keep).await
                }
            })
            .await?;
        Ok(Retrieved {
            gateway: gateway.redacted().clone(),
            proven,
            size,
            content,
        })
    }

    async fn check_car(
        &self,
        response: reqwest::Response,
        cid: Cid,
        keep: bool,
    ) -> Result<Checked, GatewayError> {
        let max = self.max_size;
        let limits = CarLimits {
            max_file_size: max,
            ..CarLimits::default()
        };
        let body_cap = self.policy().max_response_bytes;
        stream_body(response, body_cap, move |reader| {
            let mut content = Vec::new();
            let mut sink = |data: &[u8]| {
                if keep {
                    content.extend_from_slice(data);
                }
                Ok(())
            };
            verify_car(reader, Some(&cid), &limits, &mut sink)
                .map(|car| (Proven::Car, car.file_size, keep.then_some(content)))
                .map_err(GatewayError::from)
        })
        .await?
        .map_err(GatewayError::Worker)?
    }

    async fn check_plain(
        &self,
        response: reqwest::Response,
        cid: Cid,
        keep: bool,
    ) -> Result<Checked, GatewayError> {
        let mut check = BytesCheck::new(cid, &self.profiles, 0).map_err(GatewayError::Bytes)?;
        let body_cap = self.max_size.min(self.policy().max_response_bytes);
        stream_body(response, body_cap, move |mut reader| {
            let mut content = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match std::io::Read::read(&mut reader, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        return Err(match stopped_by(&e) {
                            Some(Stopped::Fetch(fetch)) => GatewayError::Fetch(fetch),
                            Some(Stopped::Expired) => GatewayError::Expired(Expired),
                            None => GatewayError::Fetch(FetchError::BrokenOff(e.to_string())),
                        });
                    }
                };
                let data = buf.get(..n).unwrap_or_default();
                check.write(data);
                if keep {
                    content.extend_from_slice(data);
                }
            }
            let size = check.size();
            check
                .finish()
                .map(|m| (Proven::Plain(m), size, keep.then_some(content)))
                .map_err(GatewayError::Bytes)
        })
        .await?
        .map_err(GatewayError::Worker)?
    }
}
