//! The claimed location, decoded from GeoJSON (RFC 7946) in EPSG:4326:
//! `Point`, `LineString` and `Polygon`, bare or wrapped in a `Feature`.
//!
//! Parsed by hand rather than with the `geojson` crate: it is three geometry
//! types, and the checks that matter here (finite numbers, longitude and
//! latitude ranges, closed rings, a vertex cap) would have to be written on
//! top of it anyway.

use geo::{Coord, LineString, Point, Polygon};
use serde_json::Value;
use taskproof_core::{Expired, deadline, quote};

/// A claimed location.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A single position.
    Point(Point),
    /// A path.
    LineString(LineString),
    /// An area, with holes.
    Polygon(Polygon),
}

/// Which geometry a `locationType` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Point,
    LineString,
    Polygon,
    Any,
}

/// Why a location cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// The text is not JSON.
    #[error("location is not JSON: {0}")]
    NotJson(String),
    /// Not a GeoJSON geometry we accept.
    #[error("unsupported GeoJSON type {} (expected Point, LineString or Polygon)", quote(.0))]
    UnsupportedType(String),
    /// The geometry type differs from what `locationType` announced.
    #[error("locationType announces a {expected} but the location is a {}", quote(.found))]
    TypeMismatch {
        /// What `locationType` announced.
        expected: &'static str,
        /// What the GeoJSON holds.
        found: String,
    },
    /// Malformed structure (not an array of positions, ...).
    #[error("malformed coordinates: {0}")]
    Malformed(&'static str),
    /// NaN or infinite.
    #[error("coordinate is not a finite number")]
    NotFinite,
    /// Longitude outside [-180, 180].
    #[error("longitude {0} is outside [-180, 180]")]
    LongitudeOutOfRange(f64),
    /// Latitude outside [-90, 90].
    #[error("latitude {0} is outside [-90, 90]")]
    LatitudeOutOfRange(f64),
    /// A polygon ring that does not end where it starts, or has fewer than four
    /// positions.
    #[error("polygon ring must be closed and have at least 4 positions")]
    BadRing,
    /// A line with fewer than two positions.
    #[error("a LineString needs at least 2 positions")]
    ShortLine,
    /// More vertices than the task definition allows.
    #[error("more than {0} vertices")]
    TooManyVertices(usize),
    /// The verification's deadline passed while decoding (not the proof's
    /// fault: the verdict is `Undecided`).
    #[error(transparent)]
    Expired(#[from] Expired),
}

fn position(value: &Value) -> Result<Coord, GeometryError> {
    let Value::Array(items) = value else {
        return Err(GeometryError::Malformed("a position must be an array"));
    };
    // [lon, lat] or [lon, lat, altitude]; the altitude is ignored.
    let (lon, lat) = match items.as_slice() {
        [lon, lat] | [lon, lat, _] => (lon, lat),
        _ => return Err(GeometryError::Malformed("a position has 2 or 3 numbers")),
    };
    let (Some(lon), Some(lat)) = (lon.as_f64(), lat.as_f64()) else {
        return Err(GeometryError::Malformed("a position holds numbers"));
    };
    if !lon.is_finite() || !lat.is_finite() {
        return Err(GeometryError::NotFinite);
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(GeometryError::LongitudeOutOfRange(lon));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(GeometryError::LatitudeOutOfRange(lat));
    }
    Ok(Coord { x: lon, y: lat })
}

fn positions(value: &Value, budget: &mut usize) -> Result<Vec<Coord>, GeometryError> {
    let Value::Array(items) = value else {
        return Err(GeometryError::Malformed("expected an array of positions"));
    };
    let limit = *budget;
    *budget = budget
        .checked_sub(items.len())
        .ok_or(GeometryError::TooManyVertices(limit))?;
    items
        .iter()
        .map(|item| {
            deadline::check()?;
            position(item)
        })
        .collect()
}

/// Polygon coordinates: rings, the first exterior, the others holes.
pub(crate) fn polygon(value: &Value, max_vertices: usize) -> Result<Polygon, GeometryError> {
    let Value::Array(rings) = value else {
        return Err(GeometryError::Malformed(
            "polygon coordinates are an array of rings",
        ));
    };
    let mut budget = max_vertices;
    let mut rings = rings.iter().map(|ring| {
        let ring = positions(ring, &mut budget)?;
        if ring.len() < 4 || ring.first() != ring.last() {
            return Err(GeometryError::BadRing);
        }
        Ok(LineString::new(ring))
    });
    let exterior = rings.next().ok_or(GeometryError::BadRing)??;
    let holes = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

/// Decodes a GeoJSON location, checking it against what `locationType`
/// announced.
pub(crate) fn decode(
    text: &str,
    expected: Expected,
    max_vertices: usize,
) -> Result<Geometry, GeometryError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| GeometryError::NotJson(e.to_string()))?;
    let value = match value.get("type").and_then(Value::as_str) {
        Some("Feature") => value.get("geometry").cloned().unwrap_or(Value::Null),
        _ => value,
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("(none)")
        .to_owned();
    let coordinates = value.get("coordinates").unwrap_or(&Value::Null);
    let geometry = match kind.as_str() {
        "Point" => Geometry::Point(Point(position(coordinates)?)),
        "LineString" => {
            let mut budget = max_vertices;
            let line = positions(coordinates, &mut budget)?;
            if line.len() < 2 {
                return Err(GeometryError::ShortLine);
            }
            Geometry::LineString(LineString::new(line))
        }
        "Polygon" => Geometry::Polygon(polygon(coordinates, max_vertices)?),
        _ => return Err(GeometryError::UnsupportedType(kind)),
    };
    let announced = match expected {
        Expected::Point => Some("Point"),
        Expected::LineString => Some("LineString"),
        Expected::Polygon => Some("Polygon"),
        Expected::Any => None,
    };
    match announced {
        Some(announced) if announced != kind => Err(GeometryError::TypeMismatch {
            expected: announced,
            found: kind,
        }),
        _ => Ok(geometry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(text: &str) -> Result<Geometry, GeometryError> {
        decode(text, Expected::Point, 100)
    }

    #[test]
    fn decodes_point_feature_line_and_polygon_with_hole() {
        assert_eq!(
            point(r#"{"type":"Point","coordinates":[13.4,52.5]}"#),
            Ok(Geometry::Point(Point::new(13.4, 52.5)))
        );
        assert!(point(r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[13.4,52.5,34]}}"#).is_ok());
        assert!(matches!(
            decode(
                r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#,
                Expected::LineString,
                100
            ),
            Ok(Geometry::LineString(_))
        ));
        let with_hole = r#"{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[2,1],[2,2],[1,1]]]}"#;
        let Ok(Geometry::Polygon(p)) = decode(with_hole, Expected::Any, 100) else {
            panic!()
        };
        assert_eq!(p.interiors().len(), 1);
    }

    #[test]
    fn rejects_out_of_range_and_malformed_coordinates() {
        assert_eq!(
            point(r#"{"type":"Point","coordinates":[181,0]}"#),
            Err(GeometryError::LongitudeOutOfRange(181.0))
        );
        assert_eq!(
            point(r#"{"type":"Point","coordinates":[0,-90.5]}"#),
            Err(GeometryError::LatitudeOutOfRange(-90.5))
        );
        // JSON has no NaN; the strings and huge literals people try instead:
        assert!(point(r#"{"type":"Point","coordinates":["NaN",0]}"#).is_err());
        assert!(point(r#"{"type":"Point","coordinates":[1e999,0]}"#).is_err());
        assert!(point(r#"{"type":"Point","coordinates":[NaN,0]}"#).is_err());
        assert!(point(r#"{"type":"Point","coordinates":[1]}"#).is_err());
        assert!(point(r#"{"type":"Point","coordinates":[1,2,3,4]}"#).is_err());
        assert!(point(r#"{"type":"Point"}"#).is_err());
        assert!(point(r#"[13.4,52.5]"#).is_err());
        assert!(point("").is_err());
    }

    #[test]
    fn rejects_geometry_other_than_announced() {
        let line = r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#;
        assert!(matches!(
            point(line),
            Err(GeometryError::TypeMismatch { .. })
        ));
    }

    #[test]
    fn rejects_open_ring_and_vertex_flood() {
        let open = r#"{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4]]]}"#;
        assert_eq!(
            decode(open, Expected::Polygon, 100),
            Err(GeometryError::BadRing)
        );
        let many: Vec<[f64; 2]> = (0..200).map(|i| [f64::from(i) / 1000.0, 0.0]).collect();
        let text = serde_json::json!({"type": "LineString", "coordinates": many}).to_string();
        assert_eq!(
            decode(&text, Expected::Any, 100),
            Err(GeometryError::TooManyVertices(100))
        );
    }
}
