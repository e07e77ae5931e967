//! Entropy decoding: canonical Huffman tables with fast lookups, and the bit reader that
//! takes a scan's entropy-coded data apart (byte stuffing, markers, restart intervals).

use super::Declined;

/// Bits of a fast lookup in [`Huffman`]: codes up to this long decode in one step.
/// At most 12, so that a DC magnitude category over 11 never reaches the fast lookup.
const FAST_BITS: u32 = 11;
const _: () = assert!(FAST_BITS <= 12);

/// A canonical Huffman table (JPEG Annex C) with a lookup table for short codes.
#[derive(Clone)]
pub(super) struct Huffman {
    /// Indexed by the next `FAST_BITS` bits: `length << 8 | symbol`, or 0 for a longer code.
    fast: [u16; 1 << FAST_BITS],
    /// Indexed the same way: when a code and the magnitude bits that follow it both fit in
    /// `FAST_BITS`, `value << 16 | run << 8 | bits used` (the run is the symbol's high nibble,
    /// 0 in a DC table); otherwise 0. The bits used are read as `& 63`, which a 64-bit shift
    /// does by itself on x86-64 and aarch64: one instruction fewer on the decoder's critical
    /// path.
    fast_ac: [i32; 1 << FAST_BITS],
    /// For each code length 1..=16: the largest code of that length (-1 if none).
    max_code: [i32; 17],
    /// For each code length: index into `values` of its first code, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    pub(super) fn new(counts: &[u8; 16], values: &[u8]) -> Option<Huffman> {
        let mut h = Huffman {
            fast: [0; 1 << FAST_BITS],
            fast_ac: [0; 1 << FAST_BITS],
            max_code: [-1; 17],
            offset: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut index) = (0i32, 0i32);
        for len in 1..=16u32 {
            let n = i32::from(counts[len as usize - 1]);
            if code + n > 1 << len {
                return None;
            }
            if n > 0 {
                h.offset[len as usize] = index - code;
                if len <= FAST_BITS {
                    for c in code..code + n {
                        let symbol = *values.get((c + h.offset[len as usize]) as usize)?;
                        let first = (c as usize) << (FAST_BITS - len);
                        let entry = (len as u16) << 8 | u16::from(symbol);
                        h.fast[first..first + (1 << (FAST_BITS - len))].fill(entry);
                    }
                }
                code += n;
                index += n;
                h.max_code[len as usize] = code - 1;
            }
            code <<= 1;
        }
        for (i, &entry) in h.fast.iter().enumerate() {
            let (len, symbol) = (u32::from(entry >> 8), entry as u8);
            let (run, size) = (i32::from(symbol >> 4), u32::from(symbol & 15));
            if entry == 0 || len + size > FAST_BITS {
                continue;
            }
            // Size 0 (end of block, a run of 16 zeros, an end-of-band run) has no magnitude:
            // value 0, and the entry is still non-zero because `len` is.
            let value = match size {
                0 => 0,
                _ => extend(
                    (i as i32 >> (FAST_BITS - len - size)) & ((1 << size) - 1),
                    size,
                ),
            };
            h.fast_ac[i] = value << 16 | run << 8 | (len + size) as i32;
        }
        (index as usize == values.len()).then_some(h)
    }

    /// Decodes one AC symbol and the magnitude after it: (run of zeros, value), with value 0
    /// for the end-of-block and zero-run (size 0) symbols, whose run is then the symbol's.
    /// The reader must hold at least 32 bits.
    #[inline(always)]
    pub(super) fn decode_ac(&self, bits: &mut Bits) -> Option<(usize, i32)> {
        let fast = self.fast_ac[bits.peek(FAST_BITS) as usize];
        if fast != 0 {
            bits.consume((fast & 63) as u32);
            return Some((((fast >> 8) & 0xFF) as usize, fast >> 16));
        }
        let rs = self.decode(bits)?;
        Some((usize::from(rs >> 4), bits.receive_extend(rs & 15)))
    }

    /// Decodes one DC difference (JPEG's DECODE, then RECEIVE and EXTEND): `None` for a
    /// code that isn't in the table or a magnitude category over 11. The reader must hold at
    /// least 32 bits.
    #[inline(always)]
    pub(super) fn decode_dc(&self, bits: &mut Bits) -> Option<i32> {
        // A DC symbol is a bare magnitude category: in the AC lookup its "run" must be 0.
        let fast = self.fast_ac[bits.peek(FAST_BITS) as usize];
        if fast != 0 {
            if fast & 0xFF00 != 0 {
                return None;
            }
            bits.consume((fast & 63) as u32);
            return Some(fast >> 16);
        }
        let size = self.decode(bits)?;
        if size > 11 {
            return None;
        }
        Some(bits.receive_extend(size))
    }

    /// Decodes one symbol. The reader must hold at least 16 bits (see [`Bits::refill`]).
    #[inline(always)]
    pub(super) fn decode(&self, bits: &mut Bits) -> Option<u8> {
        let entry = self.fast[bits.peek(FAST_BITS) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry >> 8));
            return Some(entry as u8);
        }
        for len in FAST_BITS + 1..=16 {
            let code = bits.peek(len) as i32;
            if code <= self.max_code[len as usize] {
                bits.consume(len);
                return self
                    .values
                    .get((code + self.offset[len as usize]) as usize)
                    .copied();
            }
        }
        None
    }
}

/// JPEG's EXTEND: the `size`-bit magnitude `v` (1..=15 bits) as a signed value.
#[inline(always)]
fn extend(v: i32, size: u32) -> i32 {
    if v < 1 << (size - 1) {
        v - (1 << size) + 1
    } else {
        v
    }
}

/// Reads the entropy-coded data of one scan, 64 bits at a time: byte stuffing removed, and
/// zeros fed once a marker (or the end of the data) is reached.
pub(super) struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to read; it never moves past a marker.
    pub(super) pos: usize,
    /// The unread bits, most significant first.
    acc: u64,
    pub(super) count: u32,
    /// Zero bytes fed past a marker or the end of the data.
    padding: u32,
}

impl<'a> Bits<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Bits {
            data,
            pos,
            acc: 0,
            count: 0,
            padding: 0,
        }
    }

    /// Tops the reader up to at least 57 bits.
    #[inline(always)]
    pub(super) fn refill(&mut self) {
        if self.count > 56 {
            return;
        }
        // Fast path: the next 8 bytes hold no 0xFF, so they go in as they are.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8]));
            // A byte is 0xFF exactly when the same byte of !word is zero.
            let inv = !word;
            let no_ff =
                (inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080) == 0;
            if no_ff {
                let take = (64 - self.count) / 8;
                self.acc |= (word >> (64 - 8 * take)) << (64 - self.count - 8 * take);
                self.count += 8 * take;
                self.pos += take as usize;
                return;
            }
        }
        while self.count <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(&0xFF) if self.data.get(self.pos + 1) == Some(&0) => {
                    self.pos += 2;
                    0xFF
                }
                Some(&0xFF) | None => {
                    self.padding += 1;
                    0
                }
                Some(&b) => {
                    self.pos += 1;
                    b
                }
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (1..=32) bits, without consuming them.
    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.acc >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.count -= n;
    }

    /// Reads `n` (0..=16) bits as an unsigned number.
    #[inline(always)]
    pub(super) fn bits(&mut self, n: u8) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < u32::from(n) {
            self.refill();
        }
        let v = self.peek(u32::from(n));
        self.consume(u32::from(n));
        v
    }

    /// Drops the next `n` bits.
    #[inline(always)]
    pub(super) fn skip(&mut self, mut n: u32) {
        while n > 0 {
            if self.count < 32 {
                self.refill();
            }
            let step = n.min(32);
            self.consume(step);
            n -= step;
        }
    }

    #[inline(always)]
    pub(super) fn bit(&mut self) -> u32 {
        if self.count == 0 {
            self.refill();
        }
        let v = (self.acc >> 63) as u32;
        self.consume(1);
        v
    }

    /// Reads a `size`-bit magnitude and extends it to a signed value (JPEG's RECEIVE and
    /// EXTEND). The reader must hold `size` bits.
    #[inline(always)]
    pub(super) fn receive_extend(&mut self, size: u8) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.peek(u32::from(size)) as i32;
        self.consume(u32::from(size));
        extend(v, u32::from(size))
    }

    /// True when bits fed past a marker or the end of the data were used: the scan was cut
    /// short or is corrupt.
    pub(super) fn overran(&self) -> bool {
        self.count < 8 * self.padding
    }

    /// Why a block could not be decoded: the data ran out (or a marker came), or it is not
    /// valid Huffman-coded data.
    pub(super) fn declined(&self) -> Declined {
        if self.overran() {
            Declined::Truncated
        } else {
            Declined::Corrupt("entropy-coded data")
        }
    }

    /// Drops the buffered bits and looks for the restart marker RST`expected` (0–7), as a
    /// restart interval requires, resynchronising on damaged data as libjpeg does
    /// (`jpeg_resync_to_restart`): garbage before a marker is skipped; RST`expected`, or one too
    /// far off to tell, is stepped over and decoding resumes (`Ok(true)`); one of the next two
    /// is left for its own boundary, and the interval in between is lost (`Ok(false)`); one of
    /// the two before is skipped, and the search goes on. The data ending, or another kind of
    /// marker (the end of the image), before the scan is done means it was cut short.
    fn restart(&mut self, expected: u8) -> Result<bool, Declined> {
        self.acc = 0;
        self.count = 0;
        self.padding = 0;
        loop {
            let Some(at) = next_marker(self.data, self.pos) else {
                return Err(Declined::Truncated);
            };
            let m = self.data[at + 1];
            if !(0xD0..=0xD7).contains(&m) {
                return Err(Declined::Truncated);
            }
            let n = m - 0xD0;
            let ahead = n.wrapping_sub(expected) & 7;
            match ahead {
                1 | 2 => {
                    self.pos = at;
                    return Ok(false);
                }
                6 | 7 => self.pos = at + 2,
                _ => {
                    self.pos = at + 2;
                    return Ok(true);
                }
            }
        }
    }
}

/// Where the next marker (0xFF followed by neither 0x00, a stuffed data byte, nor 0xFF, fill)
/// starts at or after `from`, if any.
fn next_marker(data: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < data.len() {
        if data[i] == 0xFF && !matches!(data[i + 1], 0x00 | 0xFF) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Counts down a restart interval (DRI): after every `interval` MCUs (or blocks, in a scan of
/// one component) the encoder ends the data with an RSTn marker and starts afresh. Each
/// interval is decoded on its own, so damage stays in its interval: an interval whose data is
/// corrupt, cut short by a marker, or missing is *lost*, and its remaining blocks are left
/// empty (flat grey in a baseline image, the earlier scans' coefficients in a progressive one),
/// as libjpeg (and so libvips and the browsers) shows them. Without restart intervals there is
/// nothing to resume from, and damage declines the file.
pub(super) struct Restarts {
    interval: usize,
    left: usize,
    /// The number (0–7) of the RST marker the next boundary expects.
    expected: u8,
    /// The current interval's data is lost: skip its remaining blocks.
    lost: bool,
}

impl Restarts {
    pub(super) fn new(interval: usize) -> Self {
        Restarts {
            interval,
            left: interval,
            expected: 0,
            lost: false,
        }
    }

    /// Called before each MCU: at the end of an interval, finds the next RSTn marker and
    /// answers `true`, and the caller resets its DC predictions (and end-of-band run).
    /// Declined when the data ends first: the file is cut short.
    #[inline(always)]
    pub(super) fn next(&mut self, bits: &mut Bits) -> Result<bool, Declined> {
        if self.interval == 0 {
            return Ok(false);
        }
        let restart = self.left == 0;
        if restart {
            self.lost = !bits.restart(self.expected)?;
            self.expected = (self.expected + 1) & 7;
            self.left = self.interval;
        }
        self.left -= 1;
        Ok(restart)
    }

    /// Whether the current interval is lost: the caller leaves its blocks empty.
    #[inline(always)]
    pub(super) fn lost(&self) -> bool {
        self.lost
    }

    /// A block could not be decoded, or used bits past the interval's data: the rest of the
    /// interval is lost. Declined (cut short or corrupt) when there are no restart intervals.
    pub(super) fn fail(&mut self, bits: &Bits) -> Result<(), Declined> {
        if self.interval == 0 {
            return Err(bits.declined());
        }
        self.lost = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Bits, Huffman, FAST_BITS};

    /// A small deterministic generator.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (self.0 >> 33) as u32
        }
    }

    /// `values` shuffled, so that any symbol (end of block and zero runs included) can have a
    /// short code or a long one.
    fn shuffled(mut values: Vec<u8>, rng: &mut Lcg) -> Vec<u8> {
        for i in (1..values.len()).rev() {
            values.swap(i, rng.next() as usize % (i + 1));
        }
        values
    }

    /// Random entropy-coded data, without 0xFF so that no byte is stuffed.
    fn stream(rng: &mut Lcg) -> Vec<u8> {
        (0..16).map(|_| (rng.next() % 255) as u8).collect()
    }

    /// The lookups that decode a symbol with its magnitude in one step give what decoding the
    /// symbol, then reading its magnitude, gives: same value, same bits used, same refusals.
    #[test]
    fn one_step_lookups_agree_with_symbol_then_magnitude() {
        let mut rng = Lcg(7);
        // The code lengths of ITU T.81's tables K.3 (luminance DC) and K.5 (luminance AC),
        // and of a table with short codes only.
        let dc_counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
        let ac_counts = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125];
        let short_counts = [0, 1, 2, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let ac_symbols: Vec<u8> = [0x00, 0xF0]
            .into_iter()
            .chain((0..16u8).flat_map(|r| (1..=10u8).map(move |s| r << 4 | s)))
            .collect();
        let (mut fast_ac, mut fast_dc) = (0, 0);
        for round in 0..60 {
            let (counts, values) = match round % 3 {
                0 => (dc_counts, shuffled((0..12).collect(), &mut rng)),
                1 => (ac_counts, shuffled(ac_symbols.clone(), &mut rng)),
                // Eleven of all the symbols, DC categories over 11 and odd AC ones included.
                _ => (
                    short_counts,
                    shuffled((0..=255).collect(), &mut rng)[..11].to_vec(),
                ),
            };
            let table = Huffman::new(&counts, &values).expect("a valid table");
            for _ in 0..2_000 {
                let data = stream(&mut rng);
                let (mut a, mut b) = (Bits::new(&data, 0), Bits::new(&data, 0));
                a.refill();
                b.refill();
                let reference = table
                    .decode(&mut b)
                    .map(|rs| (usize::from(rs >> 4), b.receive_extend(rs & 15)));
                let one_step = table.decode_ac(&mut a);
                assert_eq!(one_step, reference, "AC, round {round}, data {data:02x?}");
                if reference.is_some() {
                    assert_eq!((a.acc, a.count), (b.acc, b.count), "AC bits used");
                }
                let mut c = Bits::new(&data, 0);
                c.refill();
                fast_ac += usize::from(table.fast_ac[c.peek(FAST_BITS) as usize] != 0);

                let (mut a, mut b) = (Bits::new(&data, 0), Bits::new(&data, 0));
                a.refill();
                b.refill();
                let reference = match table.decode(&mut b) {
                    Some(size) if size <= 11 => Some(b.receive_extend(size)),
                    _ => None,
                };
                let one_step = table.decode_dc(&mut a);
                assert_eq!(one_step, reference, "DC, round {round}, data {data:02x?}");
                if reference.is_some() {
                    assert_eq!((a.acc, a.count), (b.acc, b.count), "DC bits used");
                    fast_dc += 1;
                }
            }
        }
        // Both paths were taken many times.
        eprintln!("{fast_ac} of 120000 in one step, {fast_dc} DC differences");
        assert!(
            (1_000..119_000).contains(&fast_ac),
            "{fast_ac} one-step lookups"
        );
        assert!(fast_dc > 20_000, "{fast_dc} DC differences");
    }
}
