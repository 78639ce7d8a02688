//! Retrieval from IPFS HTTP gateways, trustless first.
//!
//! Gateways are tried in the configured order. From each, the verifiable CAR
//! (`/ipfs/{cid}?format=car`) is asked for first and checked block by block;
//! if the gateway cannot serve it, the plain bytes (`/ipfs/{cid}`) are fetched
//! and the DAG rebuilt with the configured import profiles. A gateway is
//! never believed: what it sends either hashes to the CID or is discarded.

use std::time::{Duration, Instant};

use cid::Cid;
use reqwest::header::ACCEPT;

use super::{
    bytes_check::{BytesCheck, ContentMatch},
    car::{CarLimits, verify_car},
    profile::ImportProfile,
};
use crate::retrieval::{EndpointFailure, RetrievalLimits, stream_body};

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
    pub gateway: String,
    /// How it was checked.
    pub proven: Proven,
    /// The file size.
    pub size: u64,
    /// The content, when asked to keep it.
    pub content: Option<Vec<u8>>,
}

/// The configured gateways and how to use them.
#[derive(Clone, Debug)]
pub struct Gateways {
    client: reqwest::Client,
    gateways: Vec<String>,
    profiles: Vec<ImportProfile>,
    limits: RetrievalLimits,
    plain_fallback: bool,
}

impl Gateways {
    /// Gateways tried in order, with the profiles the plain fallback may
    /// rebuild with (none: no fallback).
    pub fn new(
        gateways: Vec<String>,
        profiles: Vec<ImportProfile>,
        limits: RetrievalLimits,
        plain_fallback: bool,
    ) -> Result<Self, String> {
        Ok(Self {
            client: limits.client()?,
            gateways: gateways
                .into_iter()
                .map(|g| g.trim_end_matches('/').to_owned())
                .collect(),
            profiles,
            limits,
            plain_fallback,
        })
    }

    /// Fetches `cid` from the first gateway that proves it, keeping the
    /// content when `keep`. On failure, says why for every gateway.
    pub async fn retrieve(&self, cid: Cid, keep: bool) -> Result<Retrieved, Vec<EndpointFailure>> {
        let deadline = Instant::now() + self.limits.timeout;
        let mut failures = Vec::new();
        for gateway in &self.gateways {
            let mut reasons = Vec::new();
            match self.attempt(gateway, cid, keep, true, deadline).await {
                Ok(r) => return Ok(r),
                Err(e) => reasons.push(format!("CAR: {e}")),
            }
            if self.plain_fallback && !self.profiles.is_empty() {
                match self.attempt(gateway, cid, keep, false, deadline).await {
                    Ok(r) => return Ok(r),
                    Err(e) => reasons.push(format!("plain: {e}")),
                }
            }
            failures.push(EndpointFailure {
                endpoint: gateway.clone(),
                reason: reasons.join("; "),
            });
        }
        if failures.is_empty() {
            failures.push(EndpointFailure {
                endpoint: "(none)".into(),
                reason: "no gateway is configured".into(),
            });
        }
        Err(failures)
    }

    async fn attempt(
        &self,
        gateway: &str,
        cid: Cid,
        keep: bool,
        car: bool,
        deadline: Instant,
    ) -> Result<Retrieved, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err("no time left".into());
        }
        let fetch = async {
            let request = if car {
                self.client
                    .get(format!("{gateway}/ipfs/{cid}?format=car"))
                    .header(ACCEPT, CAR_ACCEPT)
            } else {
                self.client
                    .get(format!("{gateway}/ipfs/{cid}"))
                    .header(ACCEPT, "application/octet-stream")
            };
            let response = request
                .timeout(left)
                .send()
                .await
                .map_err(|e| crate::retrieval::describe(&e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("HTTP {status}"));
            }
            if car {
                self.check_car(response, cid, keep).await
            } else {
                self.check_plain(response, cid, keep).await
            }
        };
        match tokio::time::timeout(left, fetch).await {
            Ok(result) => result.map(|(proven, size, content)| Retrieved {
                gateway: gateway.to_owned(),
                proven,
                size,
                content,
            }),
            Err(_) => Err(format!(
                "timed out after {} ms",
                self.limits.timeout.as_millis()
            )),
        }
    }

    async fn check_car(
        &self,
        response: reqwest::Response,
        cid: Cid,
        keep: bool,
    ) -> Result<(Proven, u64, Option<Vec<u8>>), String> {
        let max = self.limits.max_size;
        // A CAR carries block framing and inner nodes on top of the file.
        let body_cap = max.saturating_add(max / 8).saturating_add(64 * 1024);
        let limits = CarLimits {
            max_file_size: max,
            ..CarLimits::default()
        };
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
                .map_err(|e| e.to_string())
        })
        .await?
    }

    async fn check_plain(
        &self,
        response: reqwest::Response,
        cid: Cid,
        keep: bool,
    ) -> Result<(Proven, u64, Option<Vec<u8>>), String> {
        let mut check = BytesCheck::new(cid, &self.profiles, 0).map_err(|e| e.to_string())?;
        stream_body(response, self.limits.max_size, move |mut reader| {
            let mut content = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match std::io::Read::read(&mut reader, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => return Err(e.to_string()),
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
                .map_err(|e| e.to_string())
        })
        .await?
    }
}
