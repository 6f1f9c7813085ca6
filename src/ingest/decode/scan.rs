//! Finding the end of a JSON string's plain text: the first `"` or `\\` (in text known to hold
//! no control character), or the first `"`, `\\` or control character.
//!
//! Both are the innermost loops of reading a log: every kept string, every skipped one, and the
//! user agents of a few hundred bytes to a few kilobytes (`stacktrace=[…]`). On x86_64 they look
//! at 16 bytes at a time with SSE2 (part of the x86_64 baseline, so no detection at run time),
//! a long string's rest left to `memchr2`; elsewhere eight bytes at a time in a `u64` (SWAR).
//! Every form gives the same answer (the tests check them against a byte-by-byte search).
//!
//! Before, the first 32 bytes were looked at eight at a time and the rest by `memchr2`: this
//! takes 13% fewer instructions to read a log of the API server's events (callgrind,
//! `examples/read_audit`, 100k events of `synth`).

/// Where the first `"` or `\\` of `b` is.
#[inline]
pub(super) fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::find::<false>(b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        swar::quote_or_backslash(b)
    }
}

/// Where the first `"`, `\\` or control character (a byte below 0x20) of `b` is.
#[inline]
pub(super) fn special(b: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::find::<true>(b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        swar::special(b)
    }
}

/// Up to 32 bytes to compare text with (a key as the API server writes it, `"name":`), in one
/// or two 16-byte steps on x86_64 when that many bytes follow, not byte by byte.
pub(super) struct Pattern {
    /// The bytes, zeros after them.
    bytes: [u8; 32],
    /// How many there are.
    len: usize,
    /// A bit for each of them (bit `k` for byte `k`).
    want: u32,
}

impl Pattern {
    /// The pattern of `"name":` (a compile-time error when longer than 32 bytes).
    pub(super) const fn key(name: &str) -> Pattern {
        let name = name.as_bytes();
        let mut bytes = [0u8; 32];
        bytes[0] = b'"';
        let mut j = 0;
        while j < name.len() {
            bytes[j + 1] = name[j];
            j += 1;
        }
        bytes[name.len() + 1] = b'"';
        bytes[name.len() + 2] = b':';
        let len = name.len() + 3;
        Pattern {
            bytes,
            len,
            want: if len == 32 { u32::MAX } else { (1 << len) - 1 },
        }
    }

    /// The pattern's bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// How many bytes it has.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// True when `b` from `i` starts with the pattern.
    #[inline]
    pub(super) fn at(&self, b: &[u8], i: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        if let Some(eq) = sse2::equal_bytes(b, i, &self.bytes, self.len) {
            return eq & self.want == self.want;
        }
        b.get(i..)
            .is_some_and(|rest| rest.starts_with(self.bytes()))
    }
}

/// The bits of the bytes of `chunk` that are `"`, `\\` or control characters: the lowest set
/// bit is the first of them (bits above it may be false flags elsewhere than on x86_64).
#[inline]
pub(super) fn special_mask16(chunk: &[u8; 16]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::mask::<true>(sse2::load16(chunk))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        chunk
            .iter()
            .position(|&x| super::is_special(x))
            .map_or(0, |p| 1 << p)
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    /// The bits of the bytes of `v` that end plain text: `"` and `\\`, and control characters
    /// when `CONTROL`.
    #[inline(always)]
    pub(super) fn mask<const CONTROL: bool>(v: __m128i) -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline (this module is compiled for x86_64
        // only), so these instructions exist on every machine it runs on; they only compute
        // on registers (no memory is read).
        unsafe {
            let mut hit = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)),
            );
            if CONTROL {
                // `x < 0x20` unsigned: `max(x, 0x1f) == 0x1f`.
                let low = _mm_set1_epi8(0x1f);
                hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, low), low));
            }
            // The sign bit of each byte: 16 bits, so the cast never loses one.
            _mm_movemask_epi8(hit) as u32
        }
    }

    /// The 16 bytes of `chunk`.
    #[inline(always)]
    pub(super) fn load16(chunk: &[u8; 16]) -> __m128i {
        // SAFETY: `chunk` is 16 bytes, and `_mm_loadu_si128` reads 16 bytes from any
        // alignment; SSE2 is part of the x86_64 baseline.
        unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) }
    }

    /// The 16 bytes of `b` from `at`, when there are that many.
    #[inline(always)]
    fn load(b: &[u8], at: usize) -> Option<__m128i> {
        let chunk = b.get(at..at.checked_add(16)?)?;
        // SAFETY: `chunk` is 16 bytes of `b` (checked just above), and `_mm_loadu_si128`
        // reads 16 bytes from any alignment; SSE2 is part of the x86_64 baseline.
        Some(unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) })
    }

    /// Bit `k` set when `b[i + k] == pattern[k]`, for the first 16 bytes when `len` is at
    /// most 16, else 32; `None` when `b` holds fewer bytes than that from `i`.
    #[inline(always)]
    pub(super) fn equal_bytes(b: &[u8], i: usize, pattern: &[u8; 32], len: usize) -> Option<u32> {
        let lanes = |at: usize| -> Option<u32> {
            let v = load(b, i.checked_add(at)?)?;
            let p = load(pattern, at)?;
            // SAFETY: SSE2 is part of the x86_64 baseline; these compute on registers only.
            Some(unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(v, p)) } as u32)
        };
        let low = lanes(0)?;
        if len <= 16 {
            return Some(low | 0xffff_0000);
        }
        Some(low | lanes(16)? << 16)
    }

    /// How many bytes are looked at here before `memchr2` takes the rest (when looking for
    /// `"` and `\\` only): 2% fewer instructions than 16 bytes at a time to the end, on a
    /// log of the API server's events (callgrind, `examples/read_audit`).
    const LONG: usize = 64;

    /// The first byte of `b` that [`mask`] flags, 16 bytes at a time.
    #[inline(always)]
    pub(super) fn find<const CONTROL: bool>(b: &[u8]) -> Option<usize> {
        let mut at = 0;
        while let Some(v) = load(b, at) {
            let m = mask::<CONTROL>(v);
            if m != 0 {
                return Some(at + m.trailing_zeros() as usize);
            }
            at += 16;
            if !CONTROL && at == LONG {
                // A long string (a user agent with its stack trace): `memchr2` takes the
                // rest 32 bytes at a time with AVX2 where the machine has it, after a call
                // and a look at the CPU that a short string would not pay back.
                return memchr::memchr2(b'"', b'\\', b.get(at..)?).map(|p| at + p);
            }
        }
        if at == b.len() {
            return None;
        }
        if let Some(from) = b.len().checked_sub(16) {
            // Fewer than 16 bytes left, but 16 in all: the last 16, those before `at` (looked
            // at already, none flagged) masked off.
            let v = load(b, from)?;
            let m = mask::<CONTROL>(v) >> (at - from);
            return (m != 0).then(|| at + m.trailing_zeros() as usize);
        }
        // A slice shorter than 16 bytes.
        b.iter()
            .position(|&x| x == b'"' || x == b'\\' || (CONTROL && x < 0x20))
    }
}

/// The portable forms, eight bytes at a time (and for tests on x86_64, to check one against
/// the other).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// The high bit of each zero byte of `x`; a false flag can only sit above a true one.
    fn zero(x: u64) -> u64 {
        x.wrapping_sub(ONES) & !x & HIGHS
    }

    /// The first byte of `b` that `flags` (of eight bytes, little-endian) flags, and `each`
    /// for the last few bytes.
    fn find(b: &[u8], flags: impl Fn(u64) -> u64, each: impl Fn(u8) -> bool) -> Option<usize> {
        let mut chunks = b.chunks_exact(8);
        let mut at = 0;
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let f = flags(u64::from_le_bytes(word));
            if f != 0 {
                return Some(at + (f.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        chunks
            .remainder()
            .iter()
            .position(|&x| each(x))
            .map(|p| at + p)
    }

    pub(super) fn quote_or_backslash(b: &[u8]) -> Option<usize> {
        find(
            b,
            |v| zero(v ^ (ONES * u64::from(b'"'))) | zero(v ^ (ONES * u64::from(b'\\'))),
            |x| x == b'"' || x == b'\\',
        )
    }

    pub(super) fn special(b: &[u8]) -> Option<usize> {
        find(b, super::super::special_flags, super::super::is_special)
    }
}

#[cfg(test)]
mod tests {
    /// Every key length, every place of a differing byte, and text ending anywhere: the
    /// compare agrees with `starts_with` of slices.
    #[test]
    fn patterns_compare_as_slices() {
        let names = "abcdefghijklmnopqrstuvwxyz0123456789";
        for n in 0..=29 {
            let pattern = super::Pattern::key(&names[..n]);
            let text: Vec<u8> = pattern
                .bytes()
                .iter()
                .copied()
                .chain(*b"tail of more than 32 bytes, to be sure")
                .collect();
            for i in 0..3 {
                let mut b = vec![b'x'; i];
                b.extend_from_slice(&text);
                for cut in 0..=b.len() {
                    let t = &b[..cut];
                    let plain = t.get(i..).is_some_and(|r| r.starts_with(pattern.bytes()));
                    assert_eq!(pattern.at(t, i), plain, "{n} {i} {cut}");
                }
                for at in i..i + pattern.len() {
                    let mut c = b.clone();
                    c[at] ^= 0x40;
                    assert!(!pattern.at(&c, i), "{n} {i} {at}");
                }
            }
        }
    }

    /// The first special byte of 16, wherever it is, with others after it.
    #[test]
    fn special_mask_finds_the_first() {
        for at in 0..16 {
            for x in [b'"', b'\\', 0x00, 0x1f] {
                let mut chunk = [b'a'; 16];
                chunk[at] = x;
                if at + 2 < 16 {
                    chunk[at + 2] = b'"';
                }
                assert_eq!(super::special_mask16(&chunk).trailing_zeros() as usize, at);
            }
        }
        assert_eq!(super::special_mask16(&[0x7f; 16]), 0);
        assert_eq!(super::special_mask16(&[0x20; 16]), 0);
    }

    /// Every length up to past two blocks, the byte looked for at every place (alone, and with
    /// a second one after it), and the bytes next to the ones looked for (`!`, `[`, `]`, 0x20,
    /// 0x7f, 0x80, 0xff) where none is: both forms agree with a search byte by byte.
    #[test]
    fn find_the_first_byte_as_a_plain_search() {
        let plain_q = |b: &[u8]| b.iter().position(|&x| x == b'"' || x == b'\\');
        let plain_s = |b: &[u8]| b.iter().position(|&x| super::super::is_special(x));
        let check = |b: &[u8]| {
            assert_eq!(super::quote_or_backslash(b), plain_q(b), "{b:?}");
            assert_eq!(super::swar::quote_or_backslash(b), plain_q(b), "{b:?}");
            assert_eq!(super::special(b), plain_s(b), "{b:?}");
            assert_eq!(super::swar::special(b), plain_s(b), "{b:?}");
        };
        let filler = [b'a', b'!', b'[', b']', b' ', 0x7f, 0x80, 0xff, b'#', b'}'];
        for len in 0..70 {
            let base: Vec<u8> = (0..len).map(|k| filler[k % filler.len()]).collect();
            check(&base);
            for at in 0..len {
                for x in [b'"', b'\\', 0x00, 0x01, 0x1f, b'\n'] {
                    let mut b = base.clone();
                    b[at] = x;
                    check(&b);
                    if at + 3 < len {
                        b[at + 3] = b'"';
                        check(&b);
                    }
                    // From every offset, so that no block is aligned alike.
                    for from in 0..=at {
                        check(&b[from..]);
                    }
                }
            }
        }
    }
}
