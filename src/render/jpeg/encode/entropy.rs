//! Entropy coding: quantised blocks become tokens (Huffman symbols with their extra bits),
//! the tokens' frequencies give optimal Huffman tables (ITU T.81 Annex K.2), and the bit
//! writer puts the codes out with byte stuffing.
//!
//! The coefficients are scanned once: each block's non-zero coefficients are found from a
//! 64-bit mask (a bit scan per coefficient that is not zero, instead of a test per
//! coefficient), and its tokens are stored, four bytes each, for the write pass. At the
//! qualities sites use most coefficients are zero, so the tokens take about a third of the
//! memory the quantised blocks would.

/// A token: the Huffman symbol in bits 16..24, its extra bits (the coefficient's value, as
/// many bits as the symbol's low nibble says) in bits 0..16, and [`LAST`] on a block's last
/// token.
pub(super) type Token = u32;

/// Marks the last token of a block.
const LAST: u32 = 1 << 24;

/// End of block: the rest of the block's coefficients are zero.
const EOB: u32 = 0x00;
/// Sixteen zeros.
const ZRL: u32 = 0xF0;

/// How many bits a coefficient's magnitude needs (its "category"), and the bits that code
/// its value: the value itself if positive, its one's complement (value − 1) if negative.
#[inline(always)]
fn category(v: i32) -> (u32, u32) {
    let n = 32 - v.unsigned_abs().leading_zeros();
    let bits = (v + (v >> 31)) as u32 & ((1u32 << n) - 1);
    (n, bits)
}

/// Symbol counts for one DC and one AC table.
pub(super) struct Frequencies {
    // 64 bits: at 4:4:4 one symbol can occur about twice per pixel, which passes u32 at 2 Gpx.
    pub(super) dc: [u64; 256],
    pub(super) ac: [u64; 256],
}

impl Default for Frequencies {
    fn default() -> Self {
        Frequencies {
            dc: [0; 256],
            ac: [0; 256],
        }
    }
}

/// Appends the tokens of one quantised block whose DC is coded as the difference from
/// `prev_dc`, and counts their symbols in `freq`. Zigzag coefficient `k` is
/// `coef[order[k]]`, and for `k` ≥ 1 bit `k` of `nonzero` must be set exactly when it is not
/// zero: of the AC coefficients only those are read (bit 0 is ignored; the DC always is).
#[inline]
pub(super) fn tokenize(
    coef: &[i16; 64],
    order: &[u8; 64],
    nonzero: u64,
    prev_dc: &mut i32,
    tokens: &mut Vec<Token>,
    freq: &mut Frequencies,
) {
    // The block's tokens go to a local buffer first (at most 1 DC, 63 coefficients, 3 ZRLs
    // and an EOB: 68), then to `tokens` in one copy. Indices are masked to the buffer's
    // 128, which the compiler sees needs no bounds check.
    let mut buf = [0 as Token; 128];
    let mut len = 0;
    let mut push = |t: Token| {
        buf[len & 127] = t;
        len += 1;
    };
    let dc = i32::from(coef[usize::from(order[0]) & 63]);
    let (n, bits) = category(dc - *prev_dc);
    *prev_dc = dc;
    freq.dc[n as usize] += 1;
    push(n << 16 | bits);

    // Bit i of `rest` is zigzag position `pos + i`.
    let mut rest = nonzero >> 1;
    let mut pos = 1u32;
    while rest != 0 {
        let mut run = rest.trailing_zeros();
        pos += run;
        rest >>= run;
        while run >= 16 {
            freq.ac[ZRL as usize] += 1;
            push(ZRL << 16);
            run -= 16;
        }
        let value = coef[usize::from(order[pos as usize & 63]) & 63];
        // A zero here would code as end of block or sixteen zeros: a caller's broken mask.
        debug_assert!(value != 0, "the mask marks a zero at {pos}");
        let (n, bits) = category(i32::from(value));
        let symbol = run << 4 | n;
        freq.ac[symbol as usize] += 1;
        push(symbol << 16 | bits);
        pos += 1;
        rest >>= 1;
    }
    if pos < 64 {
        freq.ac[EOB as usize] += 1;
        push(EOB << 16 | LAST);
    } else {
        buf[(len - 1) & 127] |= LAST;
    }
    tokens.extend_from_slice(&buf[..len.min(128)]);
}

/// An optimal Huffman table for a set of symbol counts, in DHT's form (`counts[l]` codes of
/// length `l + 1`, then the symbols in code order) and as a lookup table for the writer.
pub(super) struct Table {
    pub(super) counts: [u8; 16],
    pub(super) symbols: Vec<u8>,
    /// `code << 8 | length` for each symbol (0 for symbols that do not occur).
    codes: [u32; 256],
}

impl Table {
    /// The table of ITU T.81 Annex K.2: Huffman code lengths with one extra symbol of count
    /// 1 reserved, so that no code is all ones; lengths over 16 bits shortened; the reserved
    /// code removed; canonical codes assigned in order of length, then of symbol.
    pub(super) fn optimal(freq: &[u64; 256]) -> Table {
        // Index 256 is the reserved symbol. A node list: `next[s]` chains the symbols of a
        // subtree, whose code lengths all grow by one when it is merged.
        let mut weight = [0u64; 257];
        weight[..256].copy_from_slice(freq);
        weight[256] = 1;
        let mut size = [0u32; 257];
        let mut next = [usize::MAX; 257];
        loop {
            // The two smallest non-zero weights; among equals, the higher symbol (so the
            // reserved symbol ends on the longest code).
            let (mut a, mut b) = (usize::MAX, usize::MAX);
            for s in 0..257 {
                let w = weight[s];
                if w == 0 {
                    continue;
                }
                if a == usize::MAX || w <= weight[a] {
                    b = a;
                    a = s;
                } else if b == usize::MAX || w <= weight[b] {
                    b = s;
                }
            }
            if b == usize::MAX {
                break;
            }
            weight[a] += weight[b];
            weight[b] = 0;
            // Every symbol of both subtrees goes one level deeper; b's chain joins a's.
            let last = deepen(&mut size, &next, a);
            next[last] = b;
            deepen(&mut size, &next, b);
        }

        // Codes per length, up to the longest possible (256 merges).
        let mut per_len = [0u32; 258];
        for &l in &size {
            if l > 0 {
                per_len[l as usize] += 1;
            }
        }
        // Shorten codes over 16 bits (Annex K, Figure K.3): two codes of the longest length
        // go; one moves up a level, and a shorter code splits to give the other a place.
        for l in (17..per_len.len()).rev() {
            while per_len[l] > 0 {
                let mut j = l - 2;
                while per_len[j] == 0 {
                    j -= 1;
                }
                per_len[l] -= 2;
                per_len[l - 1] += 1;
                per_len[j + 1] += 2;
                per_len[j] -= 1;
            }
        }
        // Remove the reserved code: the last of the longest length.
        if let Some(l) = (1..=16).rev().find(|&l| per_len[l] > 0) {
            per_len[l] -= 1;
        }

        // The symbols in order of their original code length, then value; the adjusted
        // lengths are handed out in that order.
        let mut symbols: Vec<u8> = (0..=255u8).filter(|&s| size[usize::from(s)] > 0).collect();
        symbols.sort_by_key(|&s| (size[usize::from(s)], s));
        let mut counts = [0u8; 16];
        for (c, n) in counts.iter_mut().zip(&per_len[1..=16]) {
            *c = *n as u8;
        }
        let mut codes = [0u32; 256];
        let mut code = 0u32;
        let mut i = 0;
        for (l, &n) in counts.iter().enumerate() {
            for _ in 0..n {
                codes[usize::from(symbols[i])] = code << 8 | (l as u32 + 1);
                code += 1;
                i += 1;
            }
            code <<= 1;
        }
        Table {
            counts,
            symbols,
            codes,
        }
    }
}

/// Lengthens by one bit the code of every symbol in the chain that starts at `s`; returns
/// the chain's last symbol.
fn deepen(size: &mut [u32; 257], next: &[usize; 257], mut s: usize) -> usize {
    loop {
        size[s] += 1;
        if next[s] == usize::MAX {
            return s;
        }
        s = next[s];
    }
}

/// Writes bits most significant first, 64 at a time, with a zero byte after each 0xFF
/// (T.81 F.1.2.3) so that no marker appears inside the data.
pub(super) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    /// Room left in `acc`, 1 to 64 bits.
    free: u32,
}

impl<'a> BitWriter<'a> {
    pub(super) fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            free: 64,
        }
    }

    /// Appends the low `n` bits of `bits` (`n` ≤ 32, nothing above them set).
    #[inline(always)]
    fn put(&mut self, bits: u64, n: u32) {
        if n < self.free {
            self.acc = self.acc << n | bits;
            self.free -= n;
        } else {
            let spill = n - self.free;
            let word = self.acc << self.free | bits >> spill;
            self.flush_word(word);
            // Bits above the spilled ones are shifted out before the next word is written.
            self.acc = bits;
            self.free = 64 - spill;
        }
    }

    #[inline(always)]
    fn flush_word(&mut self, word: u64) {
        // A byte of 0xFF is a zero byte in !word.
        const LOW: u64 = 0x0101_0101_0101_0101;
        let inverted = !word;
        if inverted.wrapping_sub(LOW) & word & (LOW << 7) == 0 {
            self.out.extend_from_slice(&word.to_be_bytes());
        } else {
            for b in word.to_be_bytes() {
                self.out.push(b);
                if b == 0xFF {
                    self.out.push(0);
                }
            }
        }
    }

    /// Writes one block's tokens with its tables; returns how many tokens it took.
    #[inline]
    pub(super) fn block(&mut self, tokens: &[Token], dc: &Table, ac: &Table) -> usize {
        let mut put = |t: Token, table: &Table| {
            let symbol = (t >> 16 & 0xFF) as usize;
            let extra = symbol as u32 & 15;
            let code = table.codes[symbol];
            let bits = u64::from(code >> 8) << extra | u64::from(t & 0xFFFF);
            self.put(bits, (code & 0xFF) + extra);
        };
        put(tokens[0], dc);
        let mut i = 1;
        loop {
            let t = tokens[i];
            put(t, ac);
            i += 1;
            if t & LAST != 0 {
                return i;
            }
        }
    }

    /// Pads the last byte with one bits (T.81 F.1.2.3) and writes what is left.
    pub(super) fn finish(mut self) {
        let used = 64 - self.free;
        let pad = (8 - used % 8) % 8;
        self.put((1 << pad) - 1, pad);
        let used = 64 - self.free;
        if self.free == 64 {
            return;
        }
        let word = self.acc << self.free;
        for b in word.to_be_bytes().into_iter().take(used as usize / 8) {
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths(table: &Table) -> Vec<(u8, u32)> {
        let mut out = Vec::new();
        let mut i = 0;
        for (l, &n) in table.counts.iter().enumerate() {
            for _ in 0..n {
                out.push((table.symbols[i], l as u32 + 1));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn codes_are_prefix_free_and_never_all_ones() {
        // Skewed counts (Fibonacci) force lengths far over 16 before the adjustment.
        let mut freq = [0u64; 256];
        let (mut a, mut b) = (1u64, 1u64);
        for f in freq.iter_mut().take(60) {
            *f = a;
            (a, b) = (b, a.saturating_add(b));
        }
        freq[200] = 5;
        for freq in [freq, [1; 256], {
            let mut one = [0; 256];
            one[3] = 10;
            one
        }] {
            let table = Table::optimal(&freq);
            let used = freq.iter().filter(|&&f| f > 0).count();
            assert_eq!(table.symbols.len(), used);
            let lens = lengths(&table);
            assert!(lens.iter().all(|&(_, l)| (1..=16).contains(&l)));
            // Kraft sum below 1: room is left, so no code is all ones.
            let kraft: f64 = lens.iter().map(|&(_, l)| 0.5f64.powi(l as i32)).sum();
            assert!(kraft < 1.0, "{kraft}");
            let codes: Vec<(u32, u32)> = lens
                .iter()
                .map(|&(s, _)| {
                    let c = table.codes[usize::from(s)];
                    (c >> 8, c & 0xFF)
                })
                .collect();
            for (i, &(c, l)) in codes.iter().enumerate() {
                assert_ne!(c, (1 << l) - 1, "an all-ones code");
                for &(d, m) in &codes[i + 1..] {
                    let (short, long, sl, ll) = if l <= m { (c, d, l, m) } else { (d, c, m, l) };
                    assert_ne!(long >> (ll - sl), short, "a code is a prefix of another");
                }
            }
        }
    }

    #[test]
    fn frequent_symbols_get_shorter_codes() {
        let mut freq = [0u64; 256];
        freq[0] = 1000;
        freq[1] = 100;
        freq[2] = 10;
        freq[3] = 1;
        let t = Table::optimal(&freq);
        let len = |s: usize| t.codes[s] & 0xFF;
        assert!(len(0) < len(1) && len(1) < len(2) && len(2) <= len(3));
    }

    #[test]
    fn category_and_bits() {
        assert_eq!(category(0), (0, 0));
        assert_eq!(category(1), (1, 1));
        assert_eq!(category(-1), (1, 0));
        assert_eq!(category(5), (3, 5));
        assert_eq!(category(-5), (3, 2));
        assert_eq!(category(-2040), (11, 7));
        assert_eq!(category(1023), (10, 1023));
    }

    #[test]
    fn stuffs_a_zero_after_each_ff() {
        let mut out = Vec::new();
        let mut w = BitWriter::new(&mut out);
        // 0xFF, 0x12, then 70 bits of ones and 2 zeros: a full word, then a partial one.
        w.put(0xFF, 8);
        w.put(0x12, 8);
        for _ in 0..7 {
            w.put(0x3FF, 10);
        }
        w.put(0, 2);
        w.finish();
        let mut want = vec![0xFF, 0, 0x12];
        for _ in 0..8 {
            want.extend([0xFF, 0]);
        }
        want.push(0xFC);
        assert_eq!(out, want);
    }

    /// Coefficients already in zigzag order.
    const IN_ORDER: [u8; 64] = {
        let mut order = [0u8; 64];
        let mut k = 0;
        while k < 64 {
            order[k] = k as u8;
            k += 1;
        }
        order
    };

    fn mask(zz: &[i16; 64]) -> u64 {
        zz.iter()
            .enumerate()
            .fold(0, |m, (k, &c)| m | u64::from(c != 0) << k)
    }

    #[test]
    fn tokens_cover_runs_and_the_last_coefficient() {
        let mut zz = [0i16; 64];
        zz[0] = 10;
        zz[1] = -3;
        zz[20] = 1; // a run of 18 zeros: ZRL, then run 2
        let (mut prev, mut tokens, mut freq) = (4, Vec::new(), Frequencies::default());
        tokenize(&zz, &IN_ORDER, mask(&zz), &mut prev, &mut tokens, &mut freq);
        assert_eq!(prev, 10);
        let symbols: Vec<u32> = tokens.iter().map(|t| t >> 16 & 0xFF).collect();
        assert_eq!(symbols, [3, 0x02, 0xF0, 0x21, EOB]);
        assert_eq!(tokens[0] & 0xFFFF, 6);
        assert_eq!(tokens[1] & 0xFFFF, 0b00);
        assert!(tokens[..4].iter().all(|t| t & LAST == 0) && tokens[4] & LAST != 0);

        zz[63] = 2;
        tokens.clear();
        tokenize(&zz, &IN_ORDER, mask(&zz), &mut prev, &mut tokens, &mut freq);
        let symbols: Vec<u32> = tokens.iter().map(|t| t >> 16 & 0xFF).collect();
        // After position 20, 42 zeros: two ZRLs and a run of 10.
        assert_eq!(symbols, [0, 0x02, 0xF0, 0x21, 0xF0, 0xF0, 0xA2]);
        assert!(tokens[6] & LAST != 0);
    }
}
