//! Geofences: circles (haversine distance on the mean Earth radius) and
//! polygons with holes (planar, in longitude/latitude degrees), and whether a
//! claimed geometry lies inside one.
//!
//! Trusts the fences (the task definition's, validated at load); the claim is
//! the performer's and is tested with a cost bounded by its vertex count (see
//! [`polygon`] for the exact polygon test).
//!
//! Boundary semantics: fences are closed sets. A point exactly on a circle's
//! radius or on a polygon's edge (including a hole's edge) is inside; a line
//! or polygon claim is inside when it is covered by the fence (every point of
//! it inside or on the boundary). Fences crossing the antimeridian are not
//! supported.

mod polygon;

use geo::{Coord, Distance, Haversine, Point, Polygon};
use taskproof_core::{Expired, deadline};

pub use polygon::PolygonFence;

use super::geometry::Geometry;

/// One geofence.
#[derive(Debug, Clone)]
pub enum Fence {
    /// A disc: the points within `radius_m` metres of `center` (haversine).
    Circle {
        /// The centre, longitude/latitude.
        center: Point,
        /// Radius in metres.
        radius_m: f64,
    },
    /// A polygon, with holes.
    Polygon(PolygonFence),
}

/// Why a fence test gave no answer. Neither says anything about the proof:
/// the verdict is `Undecided`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Undecidable {
    /// The verification's deadline passed during the test.
    #[error(transparent)]
    Expired(#[from] Expired),
    /// The claim's boundary and the fence meet in a way the exact test does
    /// not settle (see [`PolygonFence`]).
    #[error("degenerate geometry: {0}")]
    Degenerate(&'static str),
}

impl Fence {
    /// A polygon fence, validated and prepared (see [`PolygonFence::new`]).
    pub fn polygon(polygon: &Polygon) -> Result<Self, String> {
        PolygonFence::new(polygon).map(Self::Polygon)
    }

    /// Whether the claimed geometry lies inside the fence (boundary included).
    pub fn admits(&self, claim: &Geometry) -> Result<bool, Undecidable> {
        match self {
            Self::Circle { center, radius_m } => {
                // A disc is convex (at the scale of a geofence, where
                // great-circle arcs and straight segments agree): a geometry is
                // inside when all its vertices are. All rings count, since a
                // claim's "hole" may lie outside its shell.
                for c in vertices(claim) {
                    deadline::check()?;
                    if Haversine.distance(*center, Point(*c)) > *radius_m {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Self::Polygon(fence) => match claim {
                Geometry::Point(p) => Ok(fence.locate(p.0)? != polygon::Position::Outside),
                Geometry::LineString(l) => Ok(fence.covers_line(&l.0)?),
                Geometry::Polygon(p) => {
                    let rings: Vec<&[Coord]> = std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(|r| r.0.as_slice())
                        .collect();
                    fence.covers_polygon(&rings)
                }
            },
        }
    }
}

fn vertices(claim: &Geometry) -> Box<dyn Iterator<Item = &Coord> + '_> {
    match claim {
        Geometry::Point(p) => Box::new(std::iter::once(&p.0)),
        Geometry::LineString(l) => Box::new(l.0.iter()),
        Geometry::Polygon(p) => Box::new(
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .flat_map(|r| r.0.iter()),
        ),
    }
}

#[cfg(test)]
mod tests;
