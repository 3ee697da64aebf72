//! SQLite's process-wide settings, made once before the process opens its first SQLite
//! connection (SQLite takes them only before it initialises itself):
//!
//! - **its memory from Rust's allocator** (mimalloc in the server) instead of the C
//!   library's `malloc`. Through glibc, each thread that ran a query kept SQLite's freed
//!   pages in a heap of its own (measured: 15–19 MB of page caches and statements spread
//!   over the blocking threads' arenas, not given back when a cache shrank); through the
//!   one allocator they are reused by every thread.
//! - **multi-thread mode** instead of serialized: no mutex taken on every call and column
//!   read of a connection. Safe because a connection is only ever used by one thread at a
//!   time — diesel's `SqliteConnection` is not `Sync`, and the pool lends it to one borrower.
//! - **no memory statistics**, which take a global mutex on every allocation and free.
//!
//! Each allocation carries its size in an 8-byte header, as SQLite's own default allocator
//! does when the C library cannot tell a block's size.

use std::alloc::{Layout, alloc, dealloc, realloc};
use std::os::raw::{c_int, c_void};
use std::sync::Once;

use diesel::{Connection, ConnectionResult, SqliteConnection};
use libsqlite3_sys as ffi;

/// Bytes before each block, holding its size; also the blocks' alignment (SQLite asks 8).
const HEADER: usize = 8;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

unsafe extern "C" fn x_malloc(size: c_int) -> *mut c_void {
    let Some(layout) = usize::try_from(size).ok().and_then(layout) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `layout` has a non-zero size (the header); a block of it starts with room for
    // the header, aligned for a `usize`.
    unsafe {
        let base = alloc(layout);
        if base.is_null() {
            return base.cast();
        }
        base.cast::<usize>().write(layout.size() - HEADER);
        base.add(HEADER).cast()
    }
}

/// The block's start and the size SQLite asked for, from a pointer `x_malloc` gave.
///
/// # Safety
/// `p` was returned by `x_malloc` or `x_realloc` and not freed.
unsafe fn header(p: *mut c_void) -> (*mut u8, usize) {
    // SAFETY: the caller's contract: `HEADER` bytes before `p` is the block's start, where
    // its size was written.
    unsafe {
        let base = p.cast::<u8>().sub(HEADER);
        (base, base.cast::<usize>().read())
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    // SAFETY: SQLite frees only what its xMalloc/xRealloc gave, once; the layout is the one
    // the block was allocated with (its size was checked then).
    unsafe {
        let (base, size) = header(p);
        dealloc(
            base,
            Layout::from_size_align_unchecked(size + HEADER, HEADER),
        );
    }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, size: c_int) -> *mut c_void {
    if p.is_null() {
        // SAFETY: as `x_malloc`.
        return unsafe { x_malloc(size) };
    }
    let Some(new) = usize::try_from(size).ok().and_then(layout) else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` came from xMalloc/xRealloc (SQLite's contract); the old layout is the one
    // it was allocated with, and the new size was checked by `layout`. On failure the old
    // block stays as it was, which is what SQLite expects.
    unsafe {
        let (base, old) = header(p);
        let old = Layout::from_size_align_unchecked(old + HEADER, HEADER);
        let base = realloc(base, old, new.size());
        if base.is_null() {
            return base.cast();
        }
        base.cast::<usize>().write(new.size() - HEADER);
        base.add(HEADER).cast()
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: SQLite asks the size of its live blocks only.
    let (_, size) = unsafe { header(p) };
    c_int::try_from(size).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(size: c_int) -> c_int {
    // What `layout` gives SQLite to use: the size rounded up to the header's alignment.
    size.checked_add(7).map_or(size, |n| n & !7)
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

/// Applies the settings above, once per process; before any connection, or they are
/// refused (then SQLite keeps its defaults, which work too: logged, not an error).
fn configure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(x_malloc),
            xFree: Some(x_free),
            xRealloc: Some(x_realloc),
            xSize: Some(x_size),
            xRoundup: Some(x_roundup),
            xInit: Some(x_init),
            xShutdown: Some(x_shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: `sqlite3_config` is called before SQLite initialises (it answers
        // SQLITE_MISUSE otherwise, changing nothing), from one thread (`Once`), with the
        // argument each option documents: none, an int, a pointer to the methods (SQLite
        // copies them before returning).
        let results = unsafe {
            [
                (
                    "multithread",
                    ffi::sqlite3_config(ffi::SQLITE_CONFIG_MULTITHREAD),
                ),
                (
                    "memstatus",
                    ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                ),
                (
                    "malloc",
                    ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods),
                ),
            ]
        };
        for (option, code) in results {
            if code != ffi::SQLITE_OK {
                tracing::warn!(
                    option,
                    code,
                    "SQLite setting refused (SQLite was already in use): its default kept"
                );
            }
        }
    });
}

/// Opens a SQLite connection, the process-wide settings applied first.
pub fn establish(target: &str) -> ConnectionResult<SqliteConnection> {
    configure();
    SqliteConnection::establish(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;
    use diesel::connection::SimpleConnection;

    #[test]
    fn blocks_keep_their_size_and_contents_through_realloc() {
        // SAFETY: the functions are used as SQLite uses them: sizes > 0, each block freed once.
        unsafe {
            let p = x_malloc(13).cast::<u8>();
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0, "SQLite asks 8-byte alignment");
            assert_eq!(x_size(p.cast()), 13);
            for i in 0..13 {
                p.add(i).write(i as u8);
            }
            let q = x_realloc(p.cast(), 5000).cast::<u8>();
            assert_eq!(x_size(q.cast()), 5000);
            assert!((0..13).all(|i| q.add(i).read() == i as u8));
            let r = x_realloc(q.cast(), 3).cast::<u8>();
            assert_eq!(x_size(r.cast()), 3);
            assert!((0..3).all(|i| r.add(i).read() == i as u8));
            x_free(r.cast());
            x_free(std::ptr::null_mut());
            assert!(x_malloc(-1).is_null());
            assert_eq!(x_roundup(13), 16);
            assert_eq!(x_roundup(16), 16);
        }
    }

    #[test]
    fn a_connection_works_on_the_settings() {
        #[derive(diesel::QueryableByName)]
        struct Total {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            total: i64,
        }
        let mut conn = establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE t (n INTEGER, s TEXT); \
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 20000) \
             INSERT INTO t SELECT n, printf('%0500d', n) FROM c; \
             CREATE INDEX t_s ON t (s);",
        )
        .unwrap();
        let total = diesel::sql_query("SELECT SUM(n) AS total FROM t WHERE length(s) = 500")
            .get_result::<Total>(&mut conn)
            .unwrap();
        assert_eq!(total.total, 20000 * 20001 / 2);
    }
}
