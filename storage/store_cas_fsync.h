/* store_cas_fsync.h - durable file writing, internal to storage/.
 *
 * The one recipe every file of the store follows (chunks now; manifests and
 * other storage files later): write a temp file, fsync it, rename it into
 * place, fsync the directory that holds the new name.  Only then is the file
 * durable, and at no time can a reader or a crash see a torn file under the
 * final name.  Every function sets an arca_err message naming the path. */
#ifndef STORE_CAS_FSYNC_H
#define STORE_CAS_FSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Temp files are named STORE_CAS_TMP_PREFIX + 6 random characters, so that
 * crash leftovers are recognisable. */
#define STORE_CAS_TMP_PREFIX "tmp-"

/* Creates a new temp file in dir (mode 0600, O_CLOEXEC); its path goes to
 * path_out (cap bytes) and its descriptor to *fd_out. */
int store_cas_fsync_tmp_create(const char *dir, char *path_out, size_t cap, int *fd_out);

/* Writes every byte of iov (short writes and EINTR retried). */
int store_cas_fsync_write_all(int fd, const struct iovec *iov, int iovcnt, const char *path);

/* fsync(fd), the error naming path. */
int store_cas_fsync_fd(int fd, const char *path);

/* Opens dir read-only and fsyncs it, so that entries created, renamed or
 * removed in it are durable. */
int store_cas_fsync_dir(const char *dir);

/* Renames from to to without replacing an existing to: 0 when renamed,
 * ARCA_EEXISTS (no message set) when to already exists (from is left in
 * place).  Where the file system lacks renameat2's RENAME_NOREPLACE it
 * falls back to link(2) + unlink(2), which never replaces either. */
int store_cas_fsync_rename_noreplace(const char *from, const char *to);

/* mkdir(path, mode); *created (may be NULL) tells whether it did (false
 * when it already existed as a directory). */
int store_cas_fsync_mkdir(const char *path, mode_t mode, bool *created);

/* Directory part of path ("a/b/c" -> "a/b") into out (cap bytes). */
int store_cas_fsync_dirname(const char *path, char *out, size_t cap);

/* The whole recipe for a small file: temp in tmp_dir (same file system as
 * path), write data, fsync, rename to path (replace: overwrite an existing
 * file, else ARCA_EEXISTS and nothing changes), fsync path's directory.
 * mode is applied with fchmod before the rename. */
int store_cas_fsync_write_file(const char *tmp_dir, const char *path, const void *data,
			       size_t len, mode_t mode, bool replace);

#endif
