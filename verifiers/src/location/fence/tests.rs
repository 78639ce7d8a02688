use geo::{LineString, Relate, Validation, polygon};
use rand::{Rng, SeedableRng, rngs::StdRng};
use taskproof_core::Deadline;

use super::*;

fn ring(points: &[(f64, f64)]) -> LineString {
    let mut ring: Vec<(f64, f64)> = points.to_vec();
    ring.push(points[0]);
    LineString::from(ring)
}

fn poly(shell: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon {
    Polygon::new(ring(shell), holes.iter().map(|h| ring(h)).collect())
}

fn fence(shell: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Fence {
    Fence::polygon(&poly(shell, holes)).unwrap()
}

fn line(points: &[(f64, f64)]) -> Geometry {
    Geometry::LineString(LineString::from(points.to_vec()))
}

fn area(shell: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Geometry {
    Geometry::Polygon(poly(shell, holes))
}

fn at(x: f64, y: f64) -> Geometry {
    Geometry::Point(Point::new(x, y))
}

fn admits(f: &Fence, g: &Geometry) -> bool {
    f.admits(g).unwrap()
}

type Xy = (f64, f64);
/// A shell and its holes.
type Shape<'a> = (&'a [Xy], &'a [&'a [Xy]]);

const SQUARE: [(f64, f64); 4] = [(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0)];
const HOLE: [(f64, f64); 4] = [(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0)];
/// An L: the square minus its upper right quarter; (2, 2) is a reflex corner.
const ELL: [(f64, f64); 6] = [
    (0.0, 0.0),
    (4.0, 0.0),
    (4.0, 2.0),
    (2.0, 2.0),
    (2.0, 4.0),
    (0.0, 4.0),
];

fn square_with_hole() -> Fence {
    fence(&SQUARE, &[&HOLE])
}

#[test]
fn polygon_fence_admits_inside_and_boundary_not_hole_or_outside() {
    let f = square_with_hole();
    assert!(admits(&f, &at(3.0, 3.0)));
    assert!(admits(&f, &at(4.0, 2.0)), "on the outer edge is inside");
    assert!(admits(&f, &at(0.0, 0.0)), "on a corner is inside");
    assert!(admits(&f, &at(1.0, 1.5)), "on the hole's edge is inside");
    assert!(admits(&f, &at(2.0, 2.0)), "on the hole's corner is inside");
    assert!(!admits(&f, &at(1.5, 1.5)), "inside the hole is outside");
    assert!(!admits(&f, &at(4.000001, 2.0)));
    assert!(!admits(&f, &at(-1.0, 0.0)), "level with an edge, outside");
    assert!(
        !admits(&f, &at(5.0, 4.0)),
        "level with the top edge, outside"
    );
}

#[test]
fn polygon_claim_must_be_covered() {
    let f = square_with_hole();
    let inside = polygon![(x: 2.5, y: 2.5), (x: 3.5, y: 2.5), (x: 3.5, y: 3.5), (x: 2.5, y: 2.5)];
    assert!(admits(&f, &Geometry::Polygon(inside)));
    let over_hole =
        polygon![(x: 0.5, y: 0.5), (x: 3.5, y: 0.5), (x: 3.5, y: 3.5), (x: 0.5, y: 0.5)];
    assert!(!admits(&f, &Geometry::Polygon(over_hole)));
    assert!(!admits(&f, &line(&[(3.0, 3.0), (5.0, 3.0)])));
}

#[test]
fn a_line_across_a_hole_is_refused() {
    let f = square_with_hole();
    assert!(!admits(&f, &line(&[(0.5, 1.5), (2.5, 1.5)])));
    assert!(
        !admits(&f, &line(&[(0.5, 0.5), (3.0, 3.0)])),
        "through two hole corners"
    );
    assert!(
        admits(&f, &line(&[(0.5, 0.5), (3.0, 0.5), (3.0, 3.0)])),
        "around it"
    );
}

#[test]
fn a_line_through_a_reflex_corner_that_leaves_is_refused() {
    let f = fence(&ELL, &[]);
    assert!(!admits(&f, &line(&[(1.0, 1.0), (3.0, 3.0)])));
    assert!(
        !admits(&f, &line(&[(2.0, 2.0), (3.0, 3.0)])),
        "from the corner into the notch"
    );
    assert!(
        !admits(&f, &line(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)])),
        "in two steps"
    );
}

#[test]
fn a_line_through_a_reflex_corner_that_stays_inside_is_admitted() {
    let f = fence(&ELL, &[]);
    assert!(
        admits(&f, &line(&[(1.0, 3.0), (3.0, 1.0)])),
        "grazing the corner"
    );
    assert!(
        admits(&f, &line(&[(1.0, 1.0), (2.0, 2.0)])),
        "ending at the corner"
    );
    assert!(
        admits(&f, &line(&[(0.0, 2.0), (4.0, 2.0)])),
        "then along an edge"
    );
    assert!(admits(&f, &line(&[(2.0, 2.0), (2.0, 3.0), (1.0, 3.0)])));
}

#[test]
fn a_line_along_an_edge_is_admitted_until_it_runs_past() {
    let f = square_with_hole();
    assert!(admits(&f, &line(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)])));
    assert!(
        admits(&f, &line(&[(1.0, 0.0), (3.0, 0.0)])),
        "inside one edge"
    );
    assert!(
        admits(&f, &line(&[(0.5, 1.0), (2.5, 1.0)])),
        "along the hole's edge, past both corners"
    );
    assert!(
        !admits(&f, &line(&[(0.0, 0.0), (5.0, 0.0)])),
        "past the corner"
    );
    assert!(
        !admits(&f, &line(&[(-1.0, 0.0), (4.0, 0.0)])),
        "starting outside, on the edge's line"
    );
}

#[test]
fn a_line_that_starts_on_an_edge_and_points_out_is_refused() {
    let f = square_with_hole();
    assert!(!admits(&f, &line(&[(4.0, 1.0), (5.0, 1.0)])));
    assert!(
        !admits(&f, &line(&[(1.5, 1.0), (1.5, 1.2)])),
        "from the hole's edge into the hole"
    );
    assert!(
        !admits(&f, &line(&[(1.0, 1.0), (1.5, 1.5)])),
        "from the hole's corner into the hole"
    );
    assert!(admits(&f, &line(&[(4.0, 1.0), (3.0, 1.0)])), "pointing in");
    assert!(
        admits(&f, &line(&[(1.5, 1.0), (1.5, 0.5)])),
        "pointing away from the hole"
    );
    assert!(
        admits(&f, &line(&[(1.0, 1.0), (0.5, 0.5)])),
        "from the hole's corner, away"
    );
}

#[test]
fn a_claim_equal_to_the_fence_is_admitted() {
    let f = square_with_hole();
    assert!(admits(&f, &area(&SQUARE, &[&HOLE])));
    // The same rings written from another vertex and the other way round.
    let shell = [(4.0, 4.0), (4.0, 0.0), (0.0, 0.0), (0.0, 4.0)];
    let hole = [(2.0, 2.0), (2.0, 1.0), (1.0, 1.0), (1.0, 2.0)];
    assert!(admits(&f, &area(&shell, &[&hole])));
    let f = fence(&ELL, &[]);
    assert!(admits(&f, &area(&ELL, &[])));
}

#[test]
fn a_claim_with_a_hole_equal_to_the_fences_hole_is_admitted() {
    let f = square_with_hole();
    let shell = [(0.5, 0.5), (3.0, 0.5), (3.0, 3.0), (0.5, 3.0)];
    let hole = [(1.0, 2.0), (2.0, 2.0), (2.0, 1.0), (1.0, 1.0)];
    assert!(admits(&f, &area(&shell, &[&hole])));
}

#[test]
fn a_polygon_claim_swallowing_a_fence_hole_is_refused() {
    let f = square_with_hole();
    let shell = [(0.5, 0.5), (3.0, 0.5), (3.0, 3.0), (0.5, 3.0)];
    assert!(!admits(&f, &area(&shell, &[])));
    assert!(
        !admits(&f, &area(&SQUARE, &[])),
        "the fence without its hole"
    );
    assert!(!admits(&f, &area(&HOLE, &[])), "exactly the hole");
    // Its ring passes through two corners of the hole, and still encloses it.
    let shell = [(0.5, 0.5), (2.0, 1.0), (3.0, 3.0), (1.0, 2.0)];
    assert!(!admits(&f, &area(&shell, &[])));
    // The same shape touching the hole from outside does not enclose it.
    let beside = [(2.0, 1.0), (3.0, 1.0), (3.0, 2.0), (2.0, 2.0)];
    assert!(admits(&f, &area(&beside, &[])));
}

#[test]
fn a_claim_tracing_every_hole_corner_without_the_hole_is_undecided() {
    let f = square_with_hole();
    // Around the hole, through each of its corners: the point sets differ
    // from the hole's, so the exact test does not guess.
    let around = [
        (1.0, 1.0),
        (2.0, 1.0),
        (3.0, 1.5),
        (2.0, 2.0),
        (1.0, 2.0),
        (0.5, 1.5),
    ];
    assert!(matches!(
        f.admits(&area(&around, &[])),
        Err(Undecidable::Degenerate(_))
    ));
}

#[test]
fn a_hole_touching_the_shell_at_a_vertex() {
    // A triangular hole with a corner on the shell's corner (0, 0).
    let f = fence(&SQUARE, &[&[(0.0, 0.0), (2.0, 1.0), (1.0, 2.0)]]);
    assert!(
        admits(&f, &line(&[(0.0, 0.0), (3.0, 0.5)])),
        "between shell and hole"
    );
    assert!(
        !admits(&f, &line(&[(0.0, 0.0), (1.0, 1.0)])),
        "into the hole"
    );
    assert!(
        !admits(&f, &line(&[(0.0, 0.0), (-1.0, 1.0)])),
        "out of the shell"
    );
    assert!(
        admits(&f, &line(&[(0.0, 0.0), (2.0, 1.0)])),
        "along the hole's edge"
    );
    assert!(
        admits(&f, &line(&[(3.0, 0.5), (0.0, 0.0), (0.5, 3.0)])),
        "a V around the hole's tip"
    );
    assert!(
        !admits(&f, &line(&[(3.0, 0.5), (0.0, 0.0), (1.0, 1.0)])),
        "a V into the hole"
    );
    // A hole with a corner inside the shell's bottom edge.
    let f = fence(&SQUARE, &[&[(2.0, 0.0), (3.0, 1.0), (1.0, 1.0)]]);
    assert!(
        admits(&f, &line(&[(1.0, 0.0), (3.0, 0.0)])),
        "along the edge, past the hole's corner"
    );
    assert!(
        !admits(&f, &line(&[(2.0, 0.0), (2.0, 0.5)])),
        "from that corner into the hole"
    );
    assert!(
        admits(&f, &line(&[(2.0, 0.0), (3.0, 0.5)])),
        "from that corner, beside the hole"
    );
    assert!(
        !admits(&f, &line(&[(2.0, 0.0), (2.0, -0.5)])),
        "from that corner, out"
    );
    assert!(admits(&f, &at(2.0, 0.0)));
}

#[test]
fn consecutive_repeated_fence_vertices_are_not_corners() {
    let f = fence(
        &[
            (0.0, 0.0),
            (4.0, 0.0),
            (4.0, 0.0),
            (4.0, 4.0),
            (0.0, 4.0),
            (0.0, 4.0),
        ],
        &[],
    );
    assert!(admits(&f, &line(&[(4.0, 0.0), (3.0, 1.0)])));
    assert!(!admits(&f, &line(&[(4.0, 0.0), (5.0, 1.0)])));
}

#[test]
fn invalid_fences_are_refused_at_load() {
    let bowtie = poly(&[(0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)], &[]);
    let e = Fence::polygon(&bowtie).unwrap_err();
    assert!(e.contains("not a valid polygon"), "{e}");
    let flat = poly(&[(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)], &[]);
    assert!(Fence::polygon(&flat).is_err());
}

#[test]
fn circle_fence_uses_haversine_metres() {
    // One degree of latitude is ~111.2 km on the mean Earth radius.
    let f = Fence::Circle {
        center: Point::new(0.0, 0.0),
        radius_m: 111_200.0,
    };
    assert!(admits(&f, &at(0.0, 0.999)));
    assert!(!admits(&f, &at(0.0, 1.01)));
    let d = Haversine.distance(Point::new(0.0, 0.0), Point::new(0.0, 1.0));
    let exact = Fence::Circle {
        center: Point::new(0.0, 0.0),
        radius_m: d,
    };
    assert!(admits(&exact, &at(0.0, 1.0)), "on the radius is inside");
    // A claim's second ring counts even when it lies outside its first.
    let far_hole = area(
        &[(0.0, 0.0), (0.1, 0.0), (0.1, 0.1)],
        &[&[(0.0, 2.0), (0.1, 2.0), (0.1, 2.1)]],
    );
    assert!(!admits(&f, &far_hole));
}

#[test]
fn a_test_past_its_deadline_stops_undecided() {
    let f = square_with_hole();
    let zigzag: Vec<(f64, f64)> = (0..1000)
        .map(|i| {
            (
                if i % 2 == 0 { 2.5 } else { 3.5 },
                0.5 + f64::from(i) * 0.003,
            )
        })
        .collect();
    let claim = line(&zigzag);
    assert!(admits(&f, &claim));
    let passed = Deadline::at(std::time::Instant::now());
    let outcome = passed.enter(|| f.admits(&claim));
    assert_eq!(outcome, Err(Undecidable::Expired(Expired)));
}

/// A polygon around (0, 0) with `n` corners at random angles and radii in
/// `radii`: star-shaped, so simple.
fn star(rng: &mut StdRng, n: usize, centre: (f64, f64), radii: (f64, f64)) -> Vec<(f64, f64)> {
    let mut angles: Vec<f64> = (0..n)
        .map(|_| rng.gen_range(0.0..std::f64::consts::TAU))
        .collect();
    angles.sort_by(f64::total_cmp);
    angles
        .into_iter()
        .map(|a| {
            let r = rng.gen_range(radii.0..radii.1);
            (centre.0 + r * a.cos(), centre.1 + r * a.sin())
        })
        .collect()
}

/// The exact test agrees with `geo`'s `relate` (the DE-9IM "covered by") on
/// random, non-degenerate fences and claims: self-crossing lines, polygons,
/// fences with and without holes. Both outcomes are common.
#[test]
fn agrees_with_relate_on_random_claims() {
    let mut rng = StdRng::seed_from_u64(0x7a5c_0f1e);
    let (mut covered, mut not_covered) = (0, 0);
    for _ in 0..400 {
        let n = rng.gen_range(3..14);
        let shell = star(&mut rng, n, (0.0, 0.0), (4.0, 10.0));
        let n = rng.gen_range(3..8);
        let hole = star(&mut rng, n, (0.0, 0.0), (0.5, 2.5));
        let holes: &[&[(f64, f64)]] = if rng.gen_bool(0.6) { &[&hole] } else { &[] };
        let fence_polygon = poly(&shell, holes);
        let Ok(f) = Fence::polygon(&fence_polygon) else {
            continue; // the random hole poked through the shell
        };
        for _ in 0..25 {
            let claim = if rng.gen_bool(0.5) {
                let n = rng.gen_range(2..9);
                let points: Vec<(f64, f64)> = (0..n)
                    .map(|_| {
                        let (a, r) = (
                            rng.gen_range(0.0..std::f64::consts::TAU),
                            rng.gen_range(0.0..9.0),
                        );
                        (r * a.cos(), r * a.sin())
                    })
                    .collect();
                line(&points)
            } else {
                let (a, r) = (
                    rng.gen_range(0.0..std::f64::consts::TAU),
                    rng.gen_range(0.0..7.0),
                );
                let centre = (r * a.cos(), r * a.sin());
                let size = rng.gen_range(0.3..6.0);
                let n = rng.gen_range(3..8);
                let shell = star(&mut rng, n, centre, (size / 2.0, size));
                let hole = star(&mut rng, 3, centre, (size / 8.0, size / 4.0));
                let with_hole = poly(&shell, &[&hole]);
                if rng.gen_bool(0.3) && with_hole.is_valid() {
                    Geometry::Polygon(with_hole)
                } else {
                    area(&shell, &[])
                }
            };
            let expected = match &claim {
                Geometry::LineString(l) => l.relate(&fence_polygon).is_coveredby(),
                Geometry::Polygon(p) => p.relate(&fence_polygon).is_coveredby(),
                Geometry::Point(_) => unreachable!(),
            };
            assert_eq!(
                admits(&f, &claim),
                expected,
                "fence {fence_polygon:?}, claim {claim:?}"
            );
            if expected {
                covered += 1;
            } else {
                not_covered += 1;
            }
        }
    }
    assert!(
        covered > 1000 && not_covered > 1000,
        "{covered} covered, {not_covered} not"
    );
}

/// The same on a small integer grid, where claims run along fence edges, pass
/// through fence corners and touch holes all the time: the cases rounding
/// would get wrong. (Zero-area claimed polygons are left out: `relate` treats
/// them as not covered, the exact test as the segment they are.)
#[test]
fn agrees_with_relate_on_grid_claims_along_edges_and_through_corners() {
    let mut rng = StdRng::seed_from_u64(0x6e1d);
    let fences: [Shape; 6] = [
        (&SQUARE, &[&HOLE]),
        (&ELL, &[]),
        (&SQUARE, &[&[(0.0, 0.0), (2.0, 1.0), (1.0, 2.0)]]),
        (&SQUARE, &[&[(2.0, 0.0), (3.0, 1.0), (1.0, 1.0)]]),
        (
            &[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 1.0), (0.0, 4.0)],
            &[],
        ),
        (
            &SQUARE,
            &[
                &[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0)],
                &[(2.0, 2.0), (3.0, 2.0), (3.0, 3.0)],
            ],
        ),
    ];
    let (mut covered, mut not_covered, mut undecided) = (0, 0, 0);
    for (shell, holes) in fences {
        let fence_polygon = poly(shell, holes);
        let f = Fence::polygon(&fence_polygon).unwrap();
        for _ in 0..4000 {
            let is_line = rng.gen_bool(0.6);
            let n = if is_line {
                rng.gen_range(2..5)
            } else {
                rng.gen_range(3..6)
            };
            let points: Vec<(f64, f64)> = (0..n)
                .map(|_| {
                    (
                        f64::from(rng.gen_range(-1..6)),
                        f64::from(rng.gen_range(-1..6)),
                    )
                })
                .collect();
            let claim = if is_line {
                line(&points)
            } else {
                let p = poly(&points, &[]);
                if !p.is_valid() || geo::Area::unsigned_area(&p) == 0.0 {
                    continue;
                }
                Geometry::Polygon(p)
            };
            let expected = match &claim {
                Geometry::LineString(l) => l.relate(&fence_polygon).is_coveredby(),
                Geometry::Polygon(p) => p.relate(&fence_polygon).is_coveredby(),
                Geometry::Point(_) => unreachable!(),
            };
            match f.admits(&claim) {
                Ok(got) => {
                    assert_eq!(got, expected, "fence {fence_polygon:?}, claim {claim:?}");
                    if got {
                        covered += 1;
                    } else {
                        not_covered += 1;
                    }
                }
                Err(Undecidable::Degenerate(_)) if matches!(claim, Geometry::Polygon(_)) => {
                    undecided += 1;
                }
                Err(e) => panic!("{e}: fence {fence_polygon:?}, claim {claim:?}"),
            }
        }
    }
    assert!(
        covered > 1000 && not_covered > 10_000,
        "{covered} covered, {not_covered} not"
    );
    assert!(undecided < 20, "{undecided} undecided");
}
