//! Geometry of a render, computed from the source's header before any pixel is decoded.
//!
//! [`Orientation`] is the dihedral transform that turns stored pixels into displayed pixels
//! (EXIF orientation, then the requested rotation and flip). [`Plan::new`] turns ops and the
//! *displayed* source size into the output size, the region of the source to keep, and where
//! the resized region sits on the output canvas. The renderer maps the region back to stored
//! coordinates, so it resizes first and reorients only the small result.

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::ops::{Fit, Gravity, Ops};

/// A rotation by quarter turns clockwise followed by an optional left-right mirror.
/// The eight values are the eight EXIF orientations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Orientation {
    pub quarter_turns: u8,
    pub mirror: bool,
}

impl Orientation {
    /// From an EXIF orientation tag value (1..=8); anything else is the identity.
    pub fn from_exif(value: u8) -> Self {
        let (quarter_turns, mirror) = match value {
            2 => (0, true),
            3 => (2, false),
            4 => (2, true),
            5 => (1, true),
            6 => (1, false),
            7 => (3, true),
            8 => (3, false),
            _ => (0, false),
        };
        Orientation {
            quarter_turns,
            mirror,
        }
    }

    /// `self` followed by `then`.
    pub fn then(self, then: Orientation) -> Self {
        // A mirror reverses the sense of any later rotation: M·R(r) = R(-r)·M.
        let turns = if self.mirror {
            4 - then.quarter_turns % 4
        } else {
            then.quarter_turns
        };
        Orientation {
            quarter_turns: (self.quarter_turns + turns) % 4,
            mirror: self.mirror ^ then.mirror,
        }
    }

    /// The transform that undoes `self`: a mirrored orientation is its own inverse, a pure
    /// rotation is undone by the opposite rotation.
    pub fn inverse(self) -> Self {
        if self.mirror {
            self
        } else {
            Orientation {
                quarter_turns: (4 - self.quarter_turns % 4) % 4,
                mirror: false,
            }
        }
    }

    pub fn swaps_axes(self) -> bool {
        self.quarter_turns % 2 == 1
    }

    pub fn is_identity(self) -> bool {
        self.quarter_turns.is_multiple_of(4) && !self.mirror
    }

    /// Displayed size of a stored `w`×`h` image.
    pub fn apply_size(self, w: u32, h: u32) -> (u32, u32) {
        if self.swaps_axes() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// Maps a rectangle in displayed coordinates back to stored coordinates.
    /// `stored` is the stored image size.
    pub fn rect_to_stored(self, r: Rect, stored: (f64, f64)) -> Rect {
        let (sw, sh) = stored;
        let (dw, _) = if self.swaps_axes() {
            (sh, sw)
        } else {
            (sw, sh)
        };
        let map = |x: f64, y: f64| -> (f64, f64) {
            let x = if self.mirror { dw - x } else { x };
            match self.quarter_turns % 4 {
                0 => (x, y),
                1 => (y, sh - x),
                2 => (sw - x, sh - y),
                _ => (sw - y, x),
            }
        };
        let (x0, y0) = map(r.x, r.y);
        let (x1, y1) = map(r.x + r.w, r.y + r.h);
        Rect {
            x: x0.min(x1),
            y: y0.min(y1),
            w: (x1 - x0).abs(),
            h: (y1 - y0).abs(),
        }
    }
}

/// A rectangle in (possibly fractional) pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// The geometry of one render, in displayed (oriented) coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Output canvas size.
    pub width: u32,
    pub height: u32,
    /// The region of the displayed source that is kept.
    pub region: Rect,
    /// The size the region is resized to.
    pub resized: (u32, u32),
    /// Where the resized region sits on the canvas (non-zero only for `contain`).
    pub offset: (u32, u32),
    /// The region's position along its free axis is to be chosen from the pixels (smart crop).
    pub smart: bool,
}

impl Plan {
    /// Plans the render of a displayed `src_w`×`src_h` source; checks the output limits.
    pub fn new(ops: &Ops, src_w: u32, src_h: u32, limits: &Limits) -> Result<Plan> {
        if src_w == 0 || src_h == 0 {
            return Err(Error::Undecodable("image has no pixels".into()));
        }
        let (sw, sh) = (f64::from(src_w), f64::from(src_h));
        let full = Rect {
            x: 0.0,
            y: 0.0,
            w: sw,
            h: sh,
        };
        let scaled = |v: f64| -> u32 { v.round().clamp(1.0, f64::from(u32::MAX)) as u32 };
        let simple = |w: u32, h: u32| Plan {
            width: w,
            height: h,
            region: full,
            resized: (w, h),
            offset: (0, 0),
            smart: false,
        };
        let (width, height) = ops.requested_size(src_w, src_h);
        let plan = match (width, height) {
            (None, None) => simple(src_w, src_h),
            (Some(w), None) => simple(w, scaled(sh * f64::from(w) / sw)),
            (None, Some(h)) => simple(scaled(sw * f64::from(h) / sh), h),
            (Some(w), Some(h)) => {
                let (bw, bh) = (f64::from(w), f64::from(h));
                let (sx, sy) = (bw / sw, bh / sh);
                // Inside and outside keep the source's aspect ratio, so the largest output
                // without enlarging is the source itself.
                let limit = |s: f64| if ops.enlarge { s } else { s.min(1.0) };
                match ops.fit {
                    Fit::Fill => simple(w, h),
                    Fit::Inside => {
                        let s = limit(sx.min(sy));
                        simple(scaled(sw * s).min(w), scaled(sh * s).min(h))
                    }
                    Fit::Outside => {
                        let s = limit(sx.max(sy));
                        let (ow, oh) = (scaled(sw * s), scaled(sh * s));
                        if ops.enlarge {
                            simple(ow.max(w), oh.max(h))
                        } else {
                            simple(ow.min(src_w), oh.min(src_h))
                        }
                    }
                    Fit::Cover => {
                        let s = sx.max(sy);
                        let (cw, ch) = ((bw / s).min(sw), (bh / s).min(sh));
                        let (x, y) = position(ops.gravity, sw, sh, cw, ch);
                        Plan {
                            width: w,
                            height: h,
                            region: Rect { x, y, w: cw, h: ch },
                            resized: (w, h),
                            offset: (0, 0),
                            smart: ops.gravity == Gravity::Smart,
                        }
                    }
                    Fit::Contain => {
                        let s = sx.min(sy);
                        let (iw, ih) = (scaled(sw * s).min(w), scaled(sh * s).min(h));
                        let (ax, ay) = ops.gravity.anchor().unwrap_or((0.5, 0.5));
                        let ox = (f64::from(w - iw) * ax).round() as u32;
                        let oy = (f64::from(h - ih) * ay).round() as u32;
                        Plan {
                            width: w,
                            height: h,
                            region: full,
                            resized: (iw, ih),
                            offset: (ox, oy),
                            smart: false,
                        }
                    }
                }
            }
        };
        limits.check_output(plan.width, plan.height)?;
        Ok(plan)
    }

    /// The ratio of output pixels to source pixels along each axis.
    pub fn scale(&self) -> (f64, f64) {
        (
            f64::from(self.resized.0) / self.region.w,
            f64::from(self.resized.1) / self.region.h,
        )
    }
}

/// Top-left corner of a `cw`×`ch` crop of a `sw`×`sh` image under `gravity`.
fn position(gravity: Gravity, sw: f64, sh: f64, cw: f64, ch: f64) -> (f64, f64) {
    match gravity {
        // A focal point is centred as far as the image allows.
        Gravity::Focal { x, y } => {
            let fx = sw * f64::from(x) / 100.0;
            let fy = sh * f64::from(y) / 100.0;
            (
                (fx - cw / 2.0).clamp(0.0, sw - cw),
                (fy - ch / 2.0).clamp(0.0, sh - ch),
            )
        }
        g => {
            let (ax, ay) = g.anchor().unwrap_or((0.5, 0.5));
            ((sw - cw) * ax, (sh - ch) * ay)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(w: Option<u32>, h: Option<u32>, fit: Fit, src: (u32, u32)) -> Plan {
        let ops = Ops {
            width: w,
            height: h,
            fit,
            ..Ops::default()
        };
        Plan::new(&ops, src.0, src.1, &Limits::default()).unwrap()
    }

    #[test]
    fn output_sizes_for_every_fit_and_one_sided_sizes() {
        // (width, height, fit, source) -> (output, resized)
        let cases = [
            (
                Some(400),
                None,
                Fit::Cover,
                (1600, 1200),
                (400, 300),
                (400, 300),
            ),
            (
                None,
                Some(300),
                Fit::Cover,
                (1600, 1200),
                (400, 300),
                (400, 300),
            ),
            (
                None,
                None,
                Fit::Cover,
                (1600, 1200),
                (1600, 1200),
                (1600, 1200),
            ),
            (
                Some(333),
                None,
                Fit::Cover,
                (1000, 1000),
                (333, 333),
                (333, 333),
            ),
            (
                Some(400),
                Some(400),
                Fit::Cover,
                (1600, 1200),
                (400, 400),
                (400, 400),
            ),
            (
                Some(400),
                Some(400),
                Fit::Contain,
                (1600, 1200),
                (400, 400),
                (400, 300),
            ),
            (
                Some(400),
                Some(400),
                Fit::Fill,
                (1600, 1200),
                (400, 400),
                (400, 400),
            ),
            (
                Some(400),
                Some(400),
                Fit::Inside,
                (1600, 1200),
                (400, 300),
                (400, 300),
            ),
            (
                Some(400),
                Some(400),
                Fit::Outside,
                (1600, 1200),
                (533, 400),
                (533, 400),
            ),
            (
                Some(3200),
                Some(100),
                Fit::Inside,
                (1600, 1200),
                (133, 100),
                (133, 100),
            ),
            // Not enlarged: the 10x10 box shrinks by 1/10 to fit the 1-pixel-high source.
            (Some(10), Some(10), Fit::Contain, (1000, 1), (1, 1), (1, 1)),
            (Some(10), Some(1), Fit::Contain, (1000, 1), (10, 1), (10, 1)),
            (Some(1), None, Fit::Cover, (1000, 1), (1, 1), (1, 1)),
        ];
        for (w, h, fit, src, out, resized) in cases {
            let p = plan(w, h, fit, src);
            assert_eq!((p.width, p.height), out, "{w:?}x{h:?} {fit:?} of {src:?}");
            assert_eq!(p.resized, resized, "{w:?}x{h:?} {fit:?} of {src:?}");
        }
    }

    #[test]
    fn outputs_are_never_larger_than_the_source_unless_enlarge_is_asked() {
        // (width, height, fit, source) -> (output without enlarge, output with enlarge)
        let cases = [
            (
                Some(1920),
                None,
                Fit::Cover,
                (1280, 853),
                (1280, 853),
                (1920, 1280),
            ),
            (
                None,
                Some(2000),
                Fit::Cover,
                (1280, 853),
                (1280, 853),
                (3001, 2000),
            ),
            // A box larger than the source shrinks by min(1280/2000, 853/1000) = 0.64.
            (
                Some(2000),
                Some(1000),
                Fit::Cover,
                (1280, 853),
                (1280, 640),
                (2000, 1000),
            ),
            (
                Some(2000),
                Some(1000),
                Fit::Contain,
                (1280, 853),
                (1280, 640),
                (2000, 1000),
            ),
            (
                Some(2000),
                Some(1000),
                Fit::Fill,
                (1280, 853),
                (1280, 640),
                (2000, 1000),
            ),
            // Larger in one side only: the box still shrinks as a whole (853 / 1000).
            (
                Some(1000),
                Some(1000),
                Fit::Cover,
                (1280, 853),
                (853, 853),
                (1000, 1000),
            ),
            (
                Some(2000),
                Some(1000),
                Fit::Inside,
                (1280, 853),
                (1280, 853),
                (1501, 1000),
            ),
            (
                Some(2000),
                Some(1000),
                Fit::Outside,
                (1280, 853),
                (1280, 853),
                (2000, 1333),
            ),
            (
                Some(640),
                Some(2000),
                Fit::Outside,
                (1280, 853),
                (1280, 853),
                (3001, 2000),
            ),
            // Within the source: unchanged either way.
            (
                Some(640),
                Some(360),
                Fit::Cover,
                (1280, 853),
                (640, 360),
                (640, 360),
            ),
            (
                Some(1280),
                None,
                Fit::Cover,
                (1280, 853),
                (1280, 853),
                (1280, 853),
            ),
        ];
        for (w, h, fit, src, kept, enlarged) in cases {
            let mut ops = Ops {
                width: w,
                height: h,
                fit,
                ..Ops::default()
            };
            let p = Plan::new(&ops, src.0, src.1, &Limits::default()).unwrap();
            assert_eq!((p.width, p.height), kept, "{w:?}x{h:?} {fit:?} of {src:?}");
            assert!(p.resized.0 <= src.0 && p.resized.1 <= src.1, "{p:?}");
            ops.enlarge = true;
            let p = Plan::new(&ops, src.0, src.1, &Limits::default()).unwrap();
            assert_eq!((p.width, p.height), enlarged, "enlarge {w:?}x{h:?} {fit:?}");
        }
    }

    #[test]
    fn cover_crops_by_gravity() {
        let ops = |g| Ops {
            width: Some(100),
            height: Some(100),
            gravity: g,
            ..Ops::default()
        };
        let region = |g| {
            Plan::new(&ops(g), 400, 200, &Limits::default())
                .unwrap()
                .region
        };
        assert_eq!(
            region(Gravity::Centre),
            Rect {
                x: 100.0,
                y: 0.0,
                w: 200.0,
                h: 200.0
            }
        );
        assert_eq!(region(Gravity::West).x, 0.0);
        assert_eq!(region(Gravity::East).x, 200.0);
        assert_eq!(region(Gravity::NorthEast).x, 200.0);
        assert_eq!(region(Gravity::Focal { x: 10, y: 50 }).x, 0.0);
        assert_eq!(region(Gravity::Focal { x: 60, y: 50 }).x, 140.0);
    }

    #[test]
    fn contain_pads_by_gravity() {
        let ops = |g| Ops {
            width: Some(100),
            height: Some(100),
            fit: Fit::Contain,
            gravity: g,
            ..Ops::default()
        };
        let offset = |g| {
            Plan::new(&ops(g), 400, 200, &Limits::default())
                .unwrap()
                .offset
        };
        assert_eq!(offset(Gravity::Centre), (0, 25));
        assert_eq!(offset(Gravity::North), (0, 0));
        assert_eq!(offset(Gravity::South), (0, 50));
    }

    #[test]
    fn output_limits_give_413() {
        let ops = Ops {
            width: Some(10_000),
            enlarge: true,
            ..Ops::default()
        };
        assert!(matches!(
            Plan::new(&ops, 100, 100, &Limits::default()),
            Err(Error::TooLarge(_))
        ));
        // One side given, the other follows the aspect ratio past the limit.
        let ops = Ops {
            width: Some(1000),
            enlarge: true,
            ..Ops::default()
        };
        assert!(matches!(
            Plan::new(&ops, 10, 1000, &Limits::default()),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn orientation_composition_matches_exif() {
        // Composing any orientation with its inverse gives the identity, and composition
        // agrees with applying the transforms one after the other to a point.
        let all: Vec<Orientation> = (1..=8).map(Orientation::from_exif).collect();
        let apply = |o: Orientation, (x, y): (i32, i32), (w, h): (i32, i32)| {
            let (mut p, mut size) = ((x, y), (w, h));
            for _ in 0..o.quarter_turns {
                p = (size.1 - 1 - p.1, p.0);
                size = (size.1, size.0);
            }
            if o.mirror {
                p = (size.0 - 1 - p.0, p.1);
            }
            (p, size)
        };
        for &a in &all {
            for &b in &all {
                assert!(a.then(a.inverse()).is_identity(), "{a:?} and its inverse");
                let c = a.then(b);
                for pt in [(0, 0), (3, 1), (4, 2)] {
                    let (p1, s1) = apply(a, pt, (5, 3));
                    let (p2, _) = apply(b, p1, s1);
                    let (p3, _) = apply(c, pt, (5, 3));
                    assert_eq!(p2, p3, "{a:?} then {b:?}");
                }
            }
        }
    }

    #[test]
    fn regions_map_back_to_stored_coordinates() {
        // Stored 40x20; EXIF 6 (rotate 90 cw) displays it 20x40. The top 20x10 of the
        // display is the left 10 columns of the stored image.
        let o = Orientation::from_exif(6);
        let r = o.rect_to_stored(
            Rect {
                x: 0.0,
                y: 0.0,
                w: 20.0,
                h: 10.0,
            },
            (40.0, 20.0),
        );
        assert_eq!(
            r,
            Rect {
                x: 0.0,
                y: 0.0,
                w: 10.0,
                h: 20.0
            }
        );
        let o = Orientation::from_exif(8);
        let r = o.rect_to_stored(
            Rect {
                x: 0.0,
                y: 0.0,
                w: 20.0,
                h: 10.0,
            },
            (40.0, 20.0),
        );
        assert_eq!(
            r,
            Rect {
                x: 30.0,
                y: 0.0,
                w: 10.0,
                h: 20.0
            }
        );
        let o = Orientation::from_exif(2);
        let r = o.rect_to_stored(
            Rect {
                x: 0.0,
                y: 0.0,
                w: 5.0,
                h: 20.0,
            },
            (40.0, 20.0),
        );
        assert_eq!(
            r,
            Rect {
                x: 35.0,
                y: 0.0,
                w: 5.0,
                h: 20.0
            }
        );
    }
}
