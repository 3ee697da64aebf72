//! Giving memory back to the system after rare, large work.
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
}
