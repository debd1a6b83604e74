// carrow_shim.h — ocrtune's plain-C binding of Apache Arrow C++ / Parquet (from the pyarrow
// wheel) and of LMDB (Debian's liblmdb), the two on-disk stores the datasets module reads.
//
// Design (as cmlx_shim.h): opaque handles, every entry point returns a status code
// (0 = success) and writes results through out-parameters; C++ exceptions and arrow::Status
// failures are caught inside and their message kept per thread (carrow_last_error).
// Pointers returned into a batch stay valid until the batch is freed.

#ifndef CARROW_SHIM_H
#define CARROW_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Message of the last failure on this thread ("" when none).
const char* carrow_last_error(void);

/// Arrow's version string ("26.0.1").
const char* carrow_arrow_version(void);

// MARK: - Parquet writer

/// Writes rows of schema `image: struct<bytes: binary, path: string>, text: string,
/// <metadata columns>: string` (all nullable), snappy-compressed; a row group is flushed every
/// `row_group_rows` rows or once its buffered bytes reach `row_group_bytes`, whichever first.
typedef struct carrow_writer_s* carrow_writer;

/// `schema_metadata_keys/values`: key–value pairs stored in the Arrow schema (e.g. "huggingface").
int carrow_writer_open(carrow_writer* out, const char* path, const char* const* metadata_names,
                       int metadata_count, int64_t row_group_rows, int64_t row_group_bytes,
                       const char* const* schema_metadata_keys, const char* const* schema_metadata_values,
                       int schema_metadata_count);

/// Appends one row. `image_path` may be NULL (null path); `metadata[i]` NULL is a null value.
int carrow_writer_append(carrow_writer w, const uint8_t* image, size_t image_length, const char* image_path,
                         const char* text, size_t text_length, const char* const* metadata);

/// Flushes buffered rows and writes the footer. The file is complete only after this succeeds.
int carrow_writer_close(carrow_writer w);

void carrow_writer_free(carrow_writer w);

// MARK: - Parquet reader

typedef struct carrow_reader_s* carrow_reader;
typedef struct carrow_batch_s* carrow_batch;

typedef enum {
  CARROW_OTHER = 0,   // read as text through Arrow's ToString
  CARROW_STRING = 1,  // string / large_string / string_view
  CARROW_BINARY = 2,  // binary / large_binary / binary_view
  CARROW_IMAGE = 3,   // struct with a binary `bytes` child and optional string `path` child
  CARROW_INT = 4,
  CARROW_FLOAT = 5,
  CARROW_BOOL = 6,
} carrow_kind;

int carrow_reader_open(carrow_reader* out, const char* path);
void carrow_reader_free(carrow_reader r);
int carrow_reader_num_rows(carrow_reader r, int64_t* out);
int carrow_reader_num_row_groups(carrow_reader r, int* out);
int carrow_reader_num_columns(carrow_reader r, int* out);
/// Rows in one row group (from the footer; nothing is read).
int carrow_reader_row_group_rows(carrow_reader r, int index, int64_t* out);
/// Top-level column name and kind; the name stays valid for the reader's lifetime.
int carrow_reader_column(carrow_reader r, int index, const char** name, carrow_kind* kind);
/// Value of a schema metadata key (NULL when absent).
int carrow_reader_schema_metadata(carrow_reader r, const char* key, const char** value);

int carrow_reader_read_row_group(carrow_reader r, int index, carrow_batch* out);
void carrow_batch_free(carrow_batch b);
int carrow_batch_num_rows(carrow_batch b, int64_t* out);

/// Bytes of a STRING or BINARY column, or of the `bytes` child of an IMAGE column.
int carrow_batch_bytes(carrow_batch b, int column, int64_t row, const uint8_t** data, size_t* length,
                       int* is_null);
/// The `path` child of an IMAGE column (is_null when the column has none).
int carrow_batch_image_path(carrow_batch b, int column, int64_t row, const uint8_t** data, size_t* length,
                            int* is_null);
/// Any column as text (numbers in Arrow's decimal form). Valid until the next call on this batch.
int carrow_batch_text(carrow_batch b, int column, int64_t row, const char** data, size_t* length, int* is_null);

// MARK: - LMDB (read-only)

typedef struct carrow_lmdb_s* carrow_lmdb;

/// Opens an LMDB environment folder (data.mdb) read-only, without a lock file.
int carrow_lmdb_open(carrow_lmdb* out, const char* path);
void carrow_lmdb_free(carrow_lmdb db);
/// Value of `key`; `found` is 0 when absent. The pointer is valid until the next get.
int carrow_lmdb_get(carrow_lmdb db, const char* key, const uint8_t** data, size_t* length, int* found);

#ifdef __cplusplus
}
#endif

#endif
