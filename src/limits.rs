//! Security limits, checked before the expensive work they protect.
//!
//! Each limit guards one resource a hostile or careless source could exhaust: bytes read,
//! pixels decoded, pixels encoded and time spent. The defaults suit a Lambda
//! function with 1–2 GB of memory; every one is configurable (`settings`, the README's
//! configuration table).

use crate::error::{Error, Result};

/// The limits of one service or render; [`Limits::default`] is the documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest source object read from the store, in bytes.
    pub max_source_bytes: u64,
    /// Largest source in pixels (width × height), read from the header before decoding.
    pub max_source_pixels: u64,
    /// Largest output width or height.
    pub max_output_side: u32,
    /// Largest output in pixels.
    pub max_output_pixels: u64,
    /// Time budget for one miss, from the lookup of the rendition key to the stored result.
    pub render_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_source_bytes: 50 * 1024 * 1024,
            max_source_pixels: 100_000_000,
            max_output_side: 8192,
            max_output_pixels: 40_000_000,
            render_timeout_ms: 20_000,
        }
    }
}

impl Limits {
    /// Rejects an output size over the limits with 413.
    pub fn check_output(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_output_side || height > self.max_output_side {
            return Err(Error::TooLarge(format!(
                "output {width}x{height} is over the {} px side limit",
                self.max_output_side
            )));
        }
        if u64::from(width) * u64::from(height) > self.max_output_pixels {
            return Err(Error::TooLarge(format!(
                "output {width}x{height} is over the {} pixel limit",
                self.max_output_pixels
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_reject_large_outputs() {
        let l = Limits::default();
        assert!(l.check_output(8192, 10).is_ok());
        assert!(matches!(l.check_output(8193, 10), Err(Error::TooLarge(_))));
        assert!(matches!(
            l.check_output(8000, 8000),
            Err(Error::TooLarge(_))
        ));
    }
}
