//! Giving memory back to the system: after rare, large work, and the code only starting
//! ran.
//!
//! The allocator (mimalloc, set in `main.rs`) keeps the pages a thread freed in that
//! thread's heap, for its next allocations; it returns them to the system only once they
//! have stayed free a while, and a busy thread's pages rarely do. After work that
//! allocated far more than a page does — the instance's report (~50 MB over a build at a
//! network's size), a dispatcher pass that rendered and sent emails, a purge — the thread
//! that did it would keep tens of megabytes for good. Measured at 3,000 cohorts with 32
//! instance reports at once: the server's peak resident size 75 → 60 MB with
//! [`give_back`] after each build (docs/BENCHMARKS.md, tenth round).

/// Returns to the system the free memory the calling thread's heap holds, and what the
/// allocator's shared arenas were keeping to purge later (`mi_collect(true)`). Costs a
/// walk of the thread's heap: for after rare, large work, not for every request. Harmless
/// where mimalloc is not the global allocator (the tests): it then holds nothing.
pub fn give_back() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Tells the system that the program's code and constants read so far may leave memory
/// (`madvise(MADV_PAGEOUT)` on the executable's read-only mappings): called once the
/// server has started. Starting runs code a server never runs again — the configuration's
/// parser, the migrations, the templates' parser, the command line — and the kernel maps
/// a program's code 64 KB around each page it runs, so that after its start the server
/// held 16 MB of its 25 MB of code; what serving needs comes back at once, from the page
/// cache, on its first use. Measured at 3,000 cohorts (docs/BENCHMARKS.md, eleventh
/// round): 19 → 12 MB of code resident after every page of the benchmark. Nothing is lost
/// either way: these pages are the executable file's, read again when needed (pages the
/// loader wrote, relocations, have no file to return to and stay). Returns how many bytes
/// were advised (0 where the advice or `/proc/self/maps` does not exist).
pub fn page_out_startup_code() -> usize {
    #[cfg(target_os = "linux")]
    {
        let Ok(exe) = std::env::current_exe() else {
            return 0;
        };
        let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
            return 0;
        };
        let exe = exe.to_string_lossy();
        let mut advised = 0;
        for (start, end) in read_only_mappings_of(&maps, &exe) {
            // SAFETY: the range is one of this process's own mappings, as the kernel lists
            // it; MADV_PAGEOUT is a hint that never changes the memory's contents (a page
            // paged out is read again from the file on its next use).
            let done = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_PAGEOUT)
            };
            if done == 0 {
                advised += end - start;
            }
        }
        advised
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// The address ranges of `maps` (`/proc/self/maps`'s format) mapped read-only (code,
/// constants) from the file `path`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn read_only_mappings_of(maps: &str, path: &str) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            // `start-end perms offset dev inode path`, the path possibly with spaces.
            let mut fields = line.splitn(6, ' ');
            let range = fields.next()?;
            let perms = fields.next()?;
            let file = fields.nth(3)?.trim_start();
            if file != path || !matches!(perms, "r-xp" | "r--p") {
                return None;
            }
            let (start, end) = range.split_once('-')?;
            Some((
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// The library and its tests run on the system allocator: there, `give_back` finds
    /// mimalloc's heap empty and must leave the program's own memory alone.
    #[test]
    fn giving_back_is_harmless_where_mimalloc_is_not_the_allocator() {
        let before: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        super::give_back();
        let after: Vec<String> = (0..10_000).map(|i| i.to_string()).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn the_executables_read_only_mappings_are_found_in_the_maps() {
        let maps = "\
55d0c0000000-55d0c0200000 r--p 00000000 fd:01 123 /srv/cohorte bin/cohorte
55d0c0200000-55d0c1a00000 r-xp 00200000 fd:01 123 /srv/cohorte bin/cohorte
55d0c1a00000-55d0c1b00000 rw-p 01a00000 fd:01 123 /srv/cohorte bin/cohorte
7f0000000000-7f0000100000 r-xp 00000000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0 
";
        assert_eq!(
            super::read_only_mappings_of(maps, "/srv/cohorte bin/cohorte"),
            vec![
                (0x55d0c0000000, 0x55d0c0200000),
                (0x55d0c0200000, 0x55d0c1a00000)
            ]
        );
    }

    /// The test program's own code is paged out, and runs on (read again from its file).
    #[cfg(target_os = "linux")]
    #[test]
    fn the_programs_code_is_paged_out_and_still_runs() {
        assert!(
            super::page_out_startup_code() > 0,
            "the executable's mappings"
        );
        let words: Vec<String> = (0..1_000).map(|i| format!("{i:x}")).collect();
        assert_eq!(words[255], "ff");
    }
}
