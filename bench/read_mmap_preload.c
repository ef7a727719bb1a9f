/* An LD_PRELOAD shim for experiments only: makes gemini-meter's admin read connections use
 * GM_READ_MMAP_SIZE bytes of mmap instead of the none (reads by pread) that
 * storage/sqlite_queries.cpp asks for, without rebuilding it (until 2026-11-29 it asked
 * for 16 GiB; e.g. GM_READ_MMAP_SIZE=17179869184 measures that).
 *
 * Why: in WAL mode SQLite unmaps a connection's whole mapping of the database at the start
 * of every read transaction once anything has been written since its last one (pager.c,
 * pagerBeginReadTransaction), so under a steady write load each admin query munmaps and
 * maps the whole file again (1.1 GB at 1M rows) and faults back in the pages it reads. Those
 * changes to the process's page tables are shared with gm-io. This shim lets
 * bench/admin_run.sh (READ_MMAP=...) compare gm-io's cost with and without them.
 *
 *   cc -O2 -shared -fPIC -o read_mmap_preload.so bench/read_mmap_preload.c -ldl
 *   GM_READ_MMAP_SIZE=0 LD_PRELOAD=./read_mmap_preload.so gemini-meter ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*exec_fn)(void*, const char*, int (*)(void*, int, char**, char**), void*, char**);

int sqlite3_exec(void* db, const char* sql, int (*cb)(void*, int, char**, char**), void* arg, char** err) {
    static exec_fn real;
    if (!real) real = (exec_fn)dlsym(RTLD_NEXT, "sqlite3_exec");
    const char* size = getenv("GM_READ_MMAP_SIZE");
    if (size && sql && strcmp(sql, "PRAGMA mmap_size=0") == 0) {
        char replaced[64];
        snprintf(replaced, sizeof replaced, "PRAGMA mmap_size=%lld", atoll(size));
        return real(db, replaced, cb, arg, err);
    }
    return real(db, sql, cb, arg, err);
}
