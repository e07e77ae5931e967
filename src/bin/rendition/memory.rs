//! The allocator's settings for a rendering process: keep freed memory for the next render.
//!
//! A render allocates a few large buffers (decoded planes, resized planes, the encoded file)
//! and frees them all at the end. With glibc's defaults the heap is trimmed back to the kernel
//! after each render, and the next render gets fresh pages: every page it touches is a page
//! fault and a page the kernel must clear first. Rendering bench/run's typical set (12 JPEGs
//! of 1.3–5 MP) to 2400 px in one process took 90,500 page faults; with the settings below,
//! 11,800, for a peak RSS of 55 instead of 49 MiB (mimalloc and jemalloc, tried through
//! `LD_PRELOAD`, took 46,000–50,000 and 66,000). The kernel time went from 0.24–0.32 s to
//! 0.04 s of a 1.2 s run on an idle machine.
//!
//! - `M_MMAP_THRESHOLD` 16 MiB: buffers up to 16 MiB (an RGB image of 5.5 MP) come from the
//!   heap rather than a fresh `mmap` of their own. Larger ones, the full decode of a large
//!   source, are still mapped and unmapped each time, so that they leave no hole in the heap
//!   (with a 32 MiB threshold, eight 4K wallpaper PNGs in one process peaked at 116 MiB of
//!   RSS instead of 94).
//! - `M_TRIM_THRESHOLD` 128 MiB: the heap keeps up to 128 MiB free at its top instead of
//!   giving it back, so a warm process (a warm Lambda, `render` or `warm` over many files)
//!   reuses the pages. What an arena keeps is bounded by the largest peak of the renders it
//!   served (`warm --jobs N` renders on up to N arenas).
//! - `M_ARENA_MAX` the number of cores (at least 2, at most 64): glibc gives threads up to 8
//!   arenas per core, and with the thresholds above each would keep its own freed memory.
//!
//! Who sets them: the Lambda functions (one request at a time per instance) and the
//! `rendition` command, except `serve`. A server answers hits from many threads, and there
//! the trade goes the other way (measured on 2 cores, 120 misses at 320–1280 px from 4
//! clients, then wrk on a stored file): with the thresholds and glibc's arenas its peak RSS
//! was 131 MiB instead of 86–92; with the arena cap as well, 77 MiB, but hits fell from 51,000 to
//! 36,000–46,000 requests/s, because the threads then share arenas and their locks, and the
//! misses gained nothing measurable (33–36 ms of CPU each at those widths either way). The
//! README's memory notes say how to cap `serve`'s arenas when memory counts more than hits.
//!
//! Set once, first thing in `main` before any thread starts (glibc's `mallopt` is not
//! thread-safe); this file is shared with the Lambda crate. A setting the environment makes
//! itself (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) is left as
//! it is, and none is made when `GLIBC_TUNABLES` tunes `glibc.malloc.`: an operator's choice
//! wins. Only on glibc targets; elsewhere it does nothing.

/// Applies the settings above, each unless the environment sets it; returns how many were
/// applied.
pub fn keep_freed_memory() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    settings(|name| std::env::var(name).ok(), cores)
        .into_iter()
        .filter(|&(param, value)| set(param, value))
        .count()
}

/// The `mallopt` parameters and values to set on a machine of `cores` cores, where `var`
/// reads the environment.
fn settings(var: impl Fn(&str) -> Option<String>, cores: usize) -> Vec<(i32, i32)> {
    if var("GLIBC_TUNABLES").is_some_and(|t| t.contains("glibc.malloc.")) {
        return Vec::new();
    }
    [
        ("MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD, 16 << 20),
        ("MALLOC_TRIM_THRESHOLD_", TRIM_THRESHOLD, 128 << 20),
        ("MALLOC_ARENA_MAX", ARENA_MAX, cores.clamp(2, 64) as i32),
    ]
    .into_iter()
    .filter(|(variable, ..)| var(variable).is_none())
    .map(|(_, param, value)| (param, value))
    .collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
use libc::{
    M_ARENA_MAX as ARENA_MAX, M_MMAP_THRESHOLD as MMAP_THRESHOLD,
    M_TRIM_THRESHOLD as TRIM_THRESHOLD,
};

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set(param: libc::c_int, value: i32) -> bool {
    // SAFETY: mallopt only changes malloc's parameters, and it is called before any other
    // thread exists; a value out of glibc's range is refused (0), not applied.
    unsafe { libc::mallopt(param, value) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const MMAP_THRESHOLD: i32 = 0;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const TRIM_THRESHOLD: i32 = 0;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
const ARENA_MAX: i32 = 0;

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set(_param: i32, _value: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::{settings, ARENA_MAX, MMAP_THRESHOLD, TRIM_THRESHOLD};

    #[test]
    fn every_setting_is_made_unless_the_environment_makes_it() {
        let none = |_: &str| None;
        let all = settings(none, 8);
        assert_eq!(
            all,
            [
                (MMAP_THRESHOLD, 16 << 20),
                (TRIM_THRESHOLD, 128 << 20),
                (ARENA_MAX, 8)
            ]
        );
        // One core still gets two arenas; a huge machine no more than 64.
        assert_eq!(settings(none, 1)[2], (ARENA_MAX, 2));
        assert_eq!(settings(none, 512)[2], (ARENA_MAX, 64));
        let arenas_set = settings(|name| (name == "MALLOC_ARENA_MAX").then(|| "4".into()), 8);
        assert_eq!(
            arenas_set,
            [(MMAP_THRESHOLD, 16 << 20), (TRIM_THRESHOLD, 128 << 20)]
        );
        let trim_set = settings(
            |name| (name == "MALLOC_TRIM_THRESHOLD_").then(|| "0".into()),
            8,
        );
        assert_eq!(trim_set, [(MMAP_THRESHOLD, 16 << 20), (ARENA_MAX, 8)]);
        // Tunables for malloc: none is made; other tunables leave them all.
        let tunables =
            |t: &'static str| move |name: &str| (name == "GLIBC_TUNABLES").then(|| t.into());
        assert_eq!(settings(tunables("glibc.malloc.arena_max=1"), 8), []);
        assert_eq!(settings(tunables("glibc.pthread.rseq=0"), 8), all);
    }
}
