//! Exact coverage of a claim by a polygon fence (a closed polygon with holes).
//!
//! Trusts the fence (validated at load) and nothing in the claim: a claimed
//! line may cross itself any number of times, a claimed polygon may be
//! invalid, and neither changes the cost. Every decision is an orientation
//! test (`geo`'s [`RobustKernel`], Shewchuk's adaptive exact predicates) or a
//! comparison on the input coordinates; no point is ever constructed (no
//! intersection point, no midpoint), so no rounding can move a claim across
//! the boundary.
//!
//! Written here rather than taken from `geo`: `Relate` nodes the claim
//! against itself, which is quadratic in time and memory for a line that
//! crosses itself (a signed 9,999-vertex claim took more than 12 GB), and
//! `geo` has no covered-by test that skips self-noding.
//!
//! The idea: a segment `ab` whose start `a` lies in the fence `P` stays in
//! `P` unless it *leaves* at some boundary point `y` of `[a, b)`, i.e. points
//! just past `y` towards `b` are outside. Near a boundary point, `P` is the
//! intersection of what each ring through that point allows: a closed
//! half-plane on an edge, a closed wedge at a vertex. So `ab` leaves exactly
//! when (i) it properly crosses a fence edge, (ii) `a` lies inside a fence
//! edge and `b` is strictly on that edge's outer side, or (iii) a fence vertex
//! lies on `[a, b)` and the direction towards `b` is outside that ring's wedge
//! there. Fence edges sit in an R-tree, so a segment meets only the edges
//! near it.

use geo::{Coord, Kernel, Orientation, Polygon, Validation, kernels::RobustKernel};
use rstar::{AABB, Envelope, ParentNode, RTree, RTreeNode, RTreeObject};
use taskproof_core::{Expired, deadline};

use super::Undecidable;

/// Where a point is with respect to the fence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    Inside,
    Boundary,
    Outside,
}

/// A validated polygon fence, ready for coverage tests.
#[derive(Debug, Clone)]
pub struct PolygonFence {
    /// The shell first, then the holes.
    rings: Vec<Ring>,
    edges: RTree<Edge>,
    /// The largest longitude of the fence: where a ray to the east ends.
    max_x: f64,
}

#[derive(Debug, Clone)]
struct Ring {
    /// Distinct consecutive vertices, without the closing repeat.
    vertices: Vec<Coord>,
    /// Whether the fence lies to the left of the ring's edges as written
    /// (a counter-clockwise shell, a clockwise hole).
    inside_left: bool,
    bounds: AABB<[f64; 2]>,
}

/// One fence edge, `from → to`, the `at`-th of ring `ring`.
#[derive(Debug, Clone, Copy)]
struct Edge {
    from: Coord,
    to: Coord,
    bounds: AABB<[f64; 2]>,
    ring: u32,
    at: u32,
}

impl RTreeObject for Edge {
    type Envelope = AABB<[f64; 2]>;

    fn envelope(&self) -> Self::Envelope {
        self.bounds
    }
}

fn xy(c: Coord) -> [f64; 2] {
    [c.x, c.y]
}

/// The bounding box of `coords`; an empty box (meeting nothing) for none.
fn bounds_of(coords: &[Coord]) -> AABB<[f64; 2]> {
    let Some(&first) = coords.first() else {
        return AABB::new_empty();
    };
    let (mut lo, mut hi) = (first, first);
    for c in coords {
        lo = Coord {
            x: lo.x.min(c.x),
            y: lo.y.min(c.y),
        };
        hi = Coord {
            x: hi.x.max(c.x),
            y: hi.y.max(c.y),
        };
    }
    AABB::from_corners(xy(lo), xy(hi))
}

fn orient(p: Coord, q: Coord, r: Coord) -> Orientation {
    RobustKernel::orient2d(p, q, r)
}

fn opposite(o1: Orientation, o2: Orientation) -> bool {
    matches!(
        (o1, o2),
        (Orientation::Clockwise, Orientation::CounterClockwise)
            | (Orientation::CounterClockwise, Orientation::Clockwise)
    )
}

/// For `x` on the line through `p` and `q` (`p ≠ q`): whether it lies strictly
/// between them. Comparing one coordinate is exact and enough on a line.
fn strictly_between(p: Coord, q: Coord, x: Coord) -> bool {
    let inside = |a: f64, b: f64, v: f64| a.min(b) < v && v < a.max(b);
    if p.x != q.x {
        inside(p.x, q.x, x.x)
    } else {
        inside(p.y, q.y, x.y)
    }
}

/// Whether `x` lies on the closed segment `pq`.
fn on_segment(p: Coord, q: Coord, x: Coord) -> bool {
    x == p || x == q || (orient(p, q, x) == Orientation::Collinear && strictly_between(p, q, x))
}

/// How a closed ring's edge `p → q` counts for a ray from `x` to the east
/// (the half-open rule: an edge counts when it spans `x.y` with one end above
/// and one at or below, and passes east of `x`).
fn crosses_east_ray(p: Coord, q: Coord, x: Coord) -> bool {
    if (p.y > x.y) == (q.y > x.y) {
        return false;
    }
    // Upwards, the edge is east of x when x is on its left; downwards, right.
    let wanted = if q.y > p.y {
        Orientation::CounterClockwise
    } else {
        Orientation::Clockwise
    };
    orient(p, q, x) == wanted
}

/// Which R-tree nodes the segment `ab` meets: the boxes overlap and the box's
/// corners are not all strictly on one side of the line `ab`. The corners are
/// made of input coordinates, so the test is exact; it only prunes, the edge
/// tests decide.
struct NearSegment {
    a: Coord,
    b: Coord,
    bounds: AABB<[f64; 2]>,
}

impl NearSegment {
    fn new(a: Coord, b: Coord) -> Self {
        Self {
            a,
            b,
            bounds: AABB::from_corners(xy(a), xy(b)),
        }
    }

    fn meets(&self, envelope: &AABB<[f64; 2]>) -> bool {
        if !self.bounds.intersects(envelope) {
            return false;
        }
        let ([x0, y0], [x1, y1]) = (envelope.lower(), envelope.upper());
        let mut sides = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            .into_iter()
            .map(|(x, y)| orient(self.a, self.b, Coord { x, y }));
        let first = sides.next().unwrap_or(Orientation::Collinear);
        first == Orientation::Collinear || sides.any(|o| o != first)
    }
}

/// Calls `visit` on the edges whose box the segment meets, depth first,
/// until it answers `true`. Written over rstar's public nodes rather than
/// with its selection iterator, which buffers every child it keeps.
fn walk<'a>(
    node: &'a ParentNode<Edge>,
    near: &NearSegment,
    visit: &mut impl FnMut(&'a Edge) -> Result<bool, Expired>,
) -> Result<bool, Expired> {
    for child in node.children() {
        let found = match child {
            RTreeNode::Leaf(edge) => near.bounds.intersects(&edge.bounds) && visit(edge)?,
            RTreeNode::Parent(parent) => {
                near.meets(&parent.envelope()) && walk(parent, near, visit)?
            }
        };
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

impl PolygonFence {
    /// Checks a configured polygon and prepares it: `geo`'s validation (simple
    /// rings, holes inside the shell, rings touching only at points),
    /// consecutive repeated vertices dropped so that every vertex is a real
    /// corner, each ring's orientation found exactly, the edges indexed.
    pub fn new(polygon: &Polygon) -> Result<Self, String> {
        if let Err(e) = polygon.check_validation() {
            return Err(format!("not a valid polygon: {e}"));
        }
        let mut rings = Vec::with_capacity(1 + polygon.interiors().len());
        for (i, ring) in std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .enumerate()
        {
            let name = if i == 0 {
                "the exterior ring".to_owned()
            } else {
                format!("interior ring {}", i - 1)
            };
            let mut vertices: Vec<Coord> = Vec::with_capacity(ring.0.len());
            for &c in &ring.0 {
                if vertices.last() != Some(&c) {
                    vertices.push(c);
                }
            }
            while vertices.len() > 1 && vertices.first() == vertices.last() {
                vertices.pop();
            }
            if vertices.len() < 3 {
                return Err(format!("{name} has fewer than 3 distinct vertices"));
            }
            let corner = |k: usize| {
                let n = vertices.len();
                (
                    vertices[(k + n - 1) % n],
                    vertices[k],
                    vertices[(k + 1) % n],
                )
            };
            for k in 0..vertices.len() {
                let (p, v, q) = corner(k);
                if orient(p, v, q) == Orientation::Collinear && !strictly_between(p, q, v) {
                    return Err(format!("{name} turns back on itself at vertex {k}"));
                }
            }
            // The lowest, then leftmost, vertex is a convex corner of a simple
            // ring: the turn there is the ring's orientation.
            let lowest = (0..vertices.len())
                .min_by(|&i, &j| {
                    let (a, b) = (vertices[i], vertices[j]);
                    a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x))
                })
                .unwrap_or(0);
            let (p, v, q) = corner(lowest);
            let counter_clockwise = match orient(p, v, q) {
                Orientation::CounterClockwise => true,
                Orientation::Clockwise => false,
                Orientation::Collinear => {
                    return Err(format!("{name} has no area"));
                }
            };
            let bounds = bounds_of(&vertices);
            rings.push(Ring {
                vertices,
                inside_left: counter_clockwise == (i == 0),
                bounds,
            });
        }
        let mut edges = Vec::new();
        for (r, ring) in rings.iter().enumerate() {
            let n = ring.vertices.len();
            edges.extend((0..n).map(|k| {
                let (from, to) = (ring.vertices[k], ring.vertices[(k + 1) % n]);
                Edge {
                    from,
                    to,
                    bounds: AABB::from_corners(xy(from), xy(to)),
                    ring: r as u32,
                    at: k as u32,
                }
            }));
        }
        let max_x = rings[0].bounds.upper()[0];
        Ok(Self {
            rings,
            edges: RTree::bulk_load(edges),
            max_x,
        })
    }

    /// Where `x` is: inside, on the boundary (of the shell or of a hole), or
    /// outside. Counts the fence edges crossed by a ray from `x` to the east;
    /// the R-tree hands over only the edges whose box meets the ray.
    pub(crate) fn locate(&self, x: Coord) -> Result<Position, Expired> {
        let ray = AABB::from_corners(xy(x), [self.max_x.max(x.x), x.y]);
        let mut crossings = 0u32;
        for e in self.edges.locate_in_envelope_intersecting(&ray) {
            deadline::check()?;
            if on_segment(e.from, e.to, x) {
                return Ok(Position::Boundary);
            }
            crossings += u32::from(crosses_east_ray(e.from, e.to, x));
        }
        Ok(if crossings % 2 == 1 {
            Position::Inside
        } else {
            Position::Outside
        })
    }

    /// Whether the line through `coords` lies in the fence. Only the first
    /// vertex is located; every segment after it starts where the previous
    /// one ended, inside.
    pub(crate) fn covers_line(&self, coords: &[Coord]) -> Result<bool, Expired> {
        let Some(&first) = coords.first() else {
            return Ok(true);
        };
        if self.locate(first)? == Position::Outside {
            return Ok(false);
        }
        for pair in coords.windows(2) {
            deadline::check()?;
            let (a, b) = (pair[0], pair[1]);
            if a != b && self.leaves(a, b)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the segment `ab`, with `a` in the fence, leaves it.
    fn leaves(&self, a: Coord, b: Coord) -> Result<bool, Expired> {
        walk(self.edges.root(), &NearSegment::new(a, b), &mut |e| {
            deadline::check()?;
            Ok(self.leaves_at(e, a, b))
        })
    }

    fn leaves_at(&self, e: &Edge, a: Coord, b: Coord) -> bool {
        let (c, d) = (e.from, e.to);
        let (abc, abd) = (orient(a, b, c), orient(a, b, d));
        let (cda, cdb) = (orient(c, d, a), orient(c, d, b));
        // (i) A proper crossing: one side of the edge is outside the fence
        // there, and the segment has points on both.
        if opposite(abc, abd) && opposite(cda, cdb) {
            return true;
        }
        let ring = &self.rings[e.ring as usize];
        let outward = if ring.inside_left {
            Orientation::Clockwise
        } else {
            Orientation::CounterClockwise
        };
        // (ii) Starting inside the edge and heading out across it.
        if cda == Orientation::Collinear && strictly_between(c, d, a) && cdb == outward {
            return true;
        }
        // (iii) Meeting a corner, `c`, and heading outside its wedge. Each
        // vertex starts exactly one edge of its ring, so each ring's corner
        // at a shared vertex is tested once.
        abc == Orientation::Collinear
            && (c == a || strictly_between(a, b, c))
            && !ring.wedge_admits(e.at as usize, b)
    }

    /// Whether a claimed polygon (its rings, closed) lies in the fence: every
    /// ring, as a closed line, does, and the claim encloses no hole of the
    /// fence. The claim's region is read with the even-odd rule (for a valid
    /// polygon: its shell minus its holes), so an invalid claim has a meaning
    /// too.
    pub(crate) fn covers_polygon(&self, rings: &[&[Coord]]) -> Result<bool, Undecidable> {
        for ring in rings {
            if !self.covers_line(ring)? {
                return Ok(false);
            }
        }
        let bounds: Vec<AABB<[f64; 2]>> = rings.iter().map(|r| bounds_of(r)).collect();
        for hole in &self.rings[1..] {
            if encloses(rings, &bounds, hole)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Ring {
    /// Whether the direction from vertex `k` towards `x` stays in the fence
    /// as far as this ring is concerned: inside the closed wedge of the
    /// fence's side at that corner.
    fn wedge_admits(&self, k: usize, x: Coord) -> bool {
        let n = self.vertices.len();
        let (mut p, v, mut q) = (
            self.vertices[(k + n - 1) % n],
            self.vertices[k],
            self.vertices[(k + 1) % n],
        );
        if !self.inside_left {
            std::mem::swap(&mut p, &mut q);
        }
        // With the fence on the left of p → v → q: the closed half-planes
        // left of the edge arriving at v and of the edge leaving it.
        let left_of_arriving = orient(p, v, x) != Orientation::Clockwise;
        let left_of_leaving = orient(v, q, x) != Orientation::Clockwise;
        match orient(p, v, q) {
            // A convex corner: both half-planes; a reflex one: either; a
            // straight one: they are the same half-plane.
            Orientation::CounterClockwise => left_of_arriving && left_of_leaving,
            Orientation::Clockwise => left_of_arriving || left_of_leaving,
            Orientation::Collinear => left_of_arriving,
        }
    }
}

/// Whether the claim (rings, each already known to lie in the fence) encloses
/// the interior of the fence hole `hole`. No ring of the claim can enter the
/// hole's interior, so each ring has the whole interior on one side: it is
/// decided at any vertex of the hole off that ring, and the even-odd rule
/// adds the rings up.
fn encloses(
    rings: &[&[Coord]],
    bounds: &[AABB<[f64; 2]>],
    hole: &Ring,
) -> Result<bool, Undecidable> {
    let mut inside = false;
    for (ring, bounds) in rings.iter().zip(bounds) {
        deadline::check()?;
        // A ring whose box misses the hole's has every hole vertex outside it.
        if !bounds.intersects(&hole.bounds) {
            continue;
        }
        if same_ring(ring, &hole.vertices) {
            inside = !inside;
            continue;
        }
        let mut off_ring = None;
        for &v in &hole.vertices {
            if !ring_touches(ring, v)? {
                off_ring = Some(v);
                break;
            }
        }
        let Some(v) = off_ring else {
            return Err(Undecidable::Degenerate(
                "the claimed polygon has a ring through every vertex of a fence hole that is not that hole itself; whether it encloses the hole is not decided",
            ));
        };
        let mut crossings = false;
        for pair in ring.windows(2) {
            deadline::check()?;
            crossings ^= crosses_east_ray(pair[0], pair[1], v);
        }
        inside ^= crossings;
    }
    Ok(inside)
}

fn ring_touches(ring: &[Coord], v: Coord) -> Result<bool, Expired> {
    for pair in ring.windows(2) {
        deadline::check()?;
        if on_segment(pair[0], pair[1], v) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a claimed ring (closed, maybe with repeated vertices) is the hole
/// `vertices` (distinct, open) as a point set: the same vertices in the same
/// cyclic order, either direction.
fn same_ring(ring: &[Coord], vertices: &[Coord]) -> bool {
    let n = vertices.len();
    if ring.len() <= n {
        return false;
    }
    let mut own: Vec<Coord> = Vec::with_capacity(ring.len());
    for &c in ring {
        if own.last() != Some(&c) {
            own.push(c);
        }
    }
    while own.len() > 1 && own.first() == own.last() {
        own.pop();
    }
    if own.len() != n {
        return false;
    }
    (0..n).filter(|&j| own[j] == vertices[0]).any(|j| {
        (0..n).all(|k| own[(j + k) % n] == vertices[k])
            || (0..n).all(|k| own[(j + n - k) % n] == vertices[k])
    })
}
