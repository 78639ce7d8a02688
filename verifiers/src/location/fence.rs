//! Geofences: circles (haversine distance on the mean Earth radius) and
//! polygons with holes (planar, in longitude/latitude degrees).
//!
//! Boundary semantics: fences are closed sets. A point exactly on a circle's
//! radius or on a polygon's edge (including a hole's edge) is inside; a line
//! or polygon claim is inside when it is covered by the fence (every point of
//! it inside or on the boundary). Fences crossing the antimeridian are not
//! supported. With several fences, a claim inside any of them is inside.

use geo::{Distance, Haversine, Intersects, Point, Polygon, Relate};

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
    Polygon(Polygon),
}

impl Fence {
    /// Whether the claimed geometry lies inside the fence (boundary included).
    pub fn admits(&self, claim: &Geometry) -> bool {
        match (self, claim) {
            (Self::Circle { center, radius_m }, claim) => vertices(claim)
                .iter()
                .all(|p| Haversine.distance(*center, *p) <= *radius_m),
            (Self::Polygon(fence), Geometry::Point(p)) => fence.intersects(p),
            (Self::Polygon(fence), Geometry::LineString(l)) => l.relate(fence).is_coveredby(),
            (Self::Polygon(fence), Geometry::Polygon(p)) => p.relate(fence).is_coveredby(),
        }
    }
}

/// For a disc, a geometry is inside when all its vertices are: a disc is
/// convex (at the scale of a geofence, where great-circle arcs and straight
/// segments agree).
fn vertices(claim: &Geometry) -> Vec<Point> {
    match claim {
        Geometry::Point(p) => vec![*p],
        Geometry::LineString(l) => l.points().collect(),
        Geometry::Polygon(p) => p.exterior().points().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, polygon};

    fn square_with_hole() -> Fence {
        Fence::Polygon(Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (4.0, 0.0),
                (4.0, 4.0),
                (0.0, 4.0),
                (0.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (1.0, 1.0),
                (2.0, 1.0),
                (2.0, 2.0),
                (1.0, 2.0),
                (1.0, 1.0),
            ])],
        ))
    }

    #[test]
    fn polygon_fence_admits_inside_and_boundary_not_hole_or_outside() {
        let f = square_with_hole();
        let at = |x, y| Geometry::Point(Point::new(x, y));
        assert!(f.admits(&at(3.0, 3.0)));
        assert!(f.admits(&at(4.0, 2.0)), "on the outer edge is inside");
        assert!(f.admits(&at(1.0, 1.5)), "on the hole's edge is inside");
        assert!(!f.admits(&at(1.5, 1.5)), "inside the hole is outside");
        assert!(!f.admits(&at(4.000001, 2.0)));
    }

    #[test]
    fn polygon_claim_must_be_covered() {
        let f = square_with_hole();
        let inside =
            polygon![(x: 2.5, y: 2.5), (x: 3.5, y: 2.5), (x: 3.5, y: 3.5), (x: 2.5, y: 2.5)];
        assert!(f.admits(&Geometry::Polygon(inside)));
        let over_hole =
            polygon![(x: 0.5, y: 0.5), (x: 3.5, y: 0.5), (x: 3.5, y: 3.5), (x: 0.5, y: 0.5)];
        assert!(!f.admits(&Geometry::Polygon(over_hole)));
        let leaving = LineString::from(vec![(3.0, 3.0), (5.0, 3.0)]);
        assert!(!f.admits(&Geometry::LineString(leaving)));
    }

    #[test]
    fn circle_fence_uses_haversine_metres() {
        // One degree of latitude is ~111.2 km on the mean Earth radius.
        let f = Fence::Circle {
            center: Point::new(0.0, 0.0),
            radius_m: 111_200.0,
        };
        assert!(f.admits(&Geometry::Point(Point::new(0.0, 0.999))));
        assert!(!f.admits(&Geometry::Point(Point::new(0.0, 1.01))));
        let d = Haversine.distance(Point::new(0.0, 0.0), Point::new(0.0, 1.0));
        let exact = Fence::Circle {
            center: Point::new(0.0, 0.0),
            radius_m: d,
        };
        assert!(
            exact.admits(&Geometry::Point(Point::new(0.0, 1.0))),
            "on the radius is inside"
        );
    }
}
