// arrow_shim.cpp — Parquet writer and reader over Arrow C++ (pyarrow wheel), behind carrow_shim.h.

#include "carrow_shim.h"
#include "shim_internal.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/util/config.h>
#include <arrow/util/key_value_metadata.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>
#include <vector>

// MARK: - Errors

namespace {

thread_local std::string last_error;

struct ShimError : std::exception {
  std::string message;
  explicit ShimError(std::string m) : message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

void check(const arrow::Status& status) {
  if (!status.ok()) throw ShimError(status.ToString());
}

template <typename T>
T unwrap(arrow::Result<T> result) {
  if (!result.ok()) throw ShimError(result.status().ToString());
  return std::move(result).ValueUnsafe();
}

} // namespace

#define CARROW_GUARD(...)                       \
  try {                                         \
    last_error.clear();                         \
    __VA_ARGS__;                                \
    return 0;                                   \
  } catch (const std::exception& e) {           \
    last_error = e.what();                      \
    return 1;                                   \
  } catch (...) {                               \
    last_error = "unknown C++ exception";       \
    return 1;                                   \
  }

extern "C" const char* carrow_last_error(void) { return last_error.c_str(); }

void carrow::set_error(const std::string& message) { last_error = message; }

extern "C" const char* carrow_arrow_version(void) { return ARROW_VERSION_STRING; }

// MARK: - Writer

struct carrow_writer_s {
  std::shared_ptr<arrow::Schema> schema;
  std::shared_ptr<arrow::io::FileOutputStream> sink;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  std::shared_ptr<arrow::DataType> image_type;
  std::unique_ptr<arrow::BinaryBuilder> image_bytes;
  std::unique_ptr<arrow::StringBuilder> image_path;
  std::unique_ptr<arrow::StringBuilder> text;
  std::vector<std::unique_ptr<arrow::StringBuilder>> metadata;
  std::vector<uint8_t> validity;
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t row_group_rows = 0;
  int64_t row_group_bytes = 0;
  bool closed = false;

  void flush() {
    if (rows == 0) return;
    std::shared_ptr<arrow::Array> bytes_array, path_array, text_array;
    check(image_bytes->Finish(&bytes_array));
    check(image_path->Finish(&path_array));
    check(text->Finish(&text_array));
    auto image = unwrap(arrow::StructArray::Make({bytes_array, path_array}, std::vector<std::string>{"bytes", "path"}));
    std::vector<std::shared_ptr<arrow::Array>> columns = {image, text_array};
    for (auto& builder : metadata) {
      std::shared_ptr<arrow::Array> column;
      check(builder->Finish(&column));
      columns.push_back(column);
    }
    auto batch = arrow::RecordBatch::Make(schema, rows, columns);
    auto table = unwrap(arrow::Table::FromRecordBatches(schema, {batch}));
    check(writer->WriteTable(*table, rows));
    rows = 0;
    bytes = 0;
  }
};

extern "C" int carrow_writer_open(carrow_writer* out, const char* path, const char* const* metadata_names,
                                  int metadata_count, int64_t row_group_rows, int64_t row_group_bytes,
                                  const char* const* keys, const char* const* values, int key_count) {
  CARROW_GUARD({
    auto w = std::make_unique<carrow_writer_s>();
    w->image_type = arrow::struct_({arrow::field("bytes", arrow::binary()), arrow::field("path", arrow::utf8())});
    std::vector<std::shared_ptr<arrow::Field>> fields = {arrow::field("image", w->image_type),
                                                         arrow::field("text", arrow::utf8())};
    for (int i = 0; i < metadata_count; i++) {
      fields.push_back(arrow::field(metadata_names[i], arrow::utf8()));
      w->metadata.push_back(std::make_unique<arrow::StringBuilder>());
    }
    std::shared_ptr<arrow::KeyValueMetadata> kv;
    if (key_count > 0) {
      std::vector<std::string> k(keys, keys + key_count), v(values, values + key_count);
      kv = arrow::key_value_metadata(k, v);
    }
    w->schema = arrow::schema(fields, kv);
    w->image_bytes = std::make_unique<arrow::BinaryBuilder>();
    w->image_path = std::make_unique<arrow::StringBuilder>();
    w->text = std::make_unique<arrow::StringBuilder>();
    w->row_group_rows = row_group_rows > 0 ? row_group_rows : 1000;
    w->row_group_bytes = row_group_bytes > 0 ? row_group_bytes : (64 << 20);
    w->sink = unwrap(arrow::io::FileOutputStream::Open(path));
    auto props = parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
    auto arrow_props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
    w->writer = unwrap(parquet::arrow::FileWriter::Open(*w->schema, arrow::default_memory_pool(), w->sink, props, arrow_props));
    *out = w.release();
  })
}

extern "C" int carrow_writer_append(carrow_writer w, const uint8_t* image, size_t image_length, const char* image_path,
                                    const char* text, size_t text_length, const char* const* metadata) {
  CARROW_GUARD({
    if (w->closed) throw ShimError("writer already closed");
    check(w->image_bytes->Append(image, (int64_t)image_length));
    if (image_path) check(w->image_path->Append(image_path));
    else check(w->image_path->AppendNull());
    check(w->text->Append(text, (int64_t)text_length));
    for (size_t i = 0; i < w->metadata.size(); i++) {
      if (metadata && metadata[i]) check(w->metadata[i]->Append(metadata[i]));
      else check(w->metadata[i]->AppendNull());
    }
    w->rows += 1;
    w->bytes += (int64_t)(image_length + text_length);
    if (w->rows >= w->row_group_rows || w->bytes >= w->row_group_bytes) w->flush();
  })
}

extern "C" int carrow_writer_close(carrow_writer w) {
  CARROW_GUARD({
    if (w->closed) return 0;
    w->flush();
    check(w->writer->Close());
    check(w->sink->Close());
    w->closed = true;
  })
}

extern "C" void carrow_writer_free(carrow_writer w) { delete w; }

// MARK: - Reader's memory cap

namespace {

/// The reader's allocations, capped. A Parquet file's metadata declares how many rows a row group has
/// and Arrow reserves buffers for that many before it decodes a page, so a few kilobytes declaring
/// 2^40 rows made it reserve (and zero) memory until the machine ran out (found by Fuzz/parquet).
/// Decoded data worth more than `kReadExpansion` times the file (at least `kReadFloor`) is refused
/// instead: images are stored compressed already, and text compresses ~10x at most.
constexpr int64_t kReadFloor = int64_t(512) << 20;
constexpr int64_t kReadExpansion = 64;

class CappedMemoryPool final : public arrow::MemoryPool {
 public:
  explicit CappedMemoryPool(int64_t cap) : cap_(cap) {}

  arrow::Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    ARROW_RETURN_NOT_OK(reserve(size));
    auto status = base_->Allocate(size, alignment, out);
    if (!status.ok()) used_ -= size;
    return status;
  }

  arrow::Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    if (new_size > old_size) ARROW_RETURN_NOT_OK(reserve(new_size - old_size));
    auto status = base_->Reallocate(old_size, new_size, alignment, ptr);
    if (!status.ok()) {
      if (new_size > old_size) used_ -= new_size - old_size;
    } else if (new_size < old_size) {
      used_ -= old_size - new_size;
    }
    return status;
  }

  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override {
    base_->Free(buffer, size, alignment);
    used_ -= size;
  }

  int64_t bytes_allocated() const override { return used_; }
  int64_t max_memory() const override { return peak_; }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return base_->backend_name(); }

  int64_t cap() const { return cap_; }
  /// The largest request refused since the last `reset_refusal()`, 0 if none.
  int64_t refused() const { return refused_; }
  void reset_refusal() { refused_ = 0; }

 private:
  arrow::Status reserve(int64_t size) {
    int64_t after = used_ += size;
    if (size < 0 || after > cap_) {
      used_ -= size;
      int64_t seen = refused_;
      while (size > seen && !refused_.compare_exchange_weak(seen, size)) {}
      return arrow::Status::OutOfMemory("reading would take more than ", cap_, " bytes");
    }
    int64_t peak = peak_;
    while (after > peak && !peak_.compare_exchange_weak(peak, after)) {}
    return arrow::Status::OK();
  }

  arrow::MemoryPool* base_ = arrow::default_memory_pool();
  const int64_t cap_;
  std::atomic<int64_t> used_{0}, peak_{0}, refused_{0};
};

} // namespace

// MARK: - Reader

struct carrow_reader_s {
  std::shared_ptr<CappedMemoryPool> pool;
  std::shared_ptr<arrow::io::ReadableFile> file;
  std::unique_ptr<parquet::arrow::FileReader> reader;
  std::shared_ptr<arrow::Schema> schema;
  std::vector<std::string> names;
  std::vector<carrow_kind> kinds;
  std::string metadata_value;
};

struct carrow_batch_s {
  std::shared_ptr<CappedMemoryPool> pool;  // owns the columns' buffers' allocator: released after them
  std::vector<std::shared_ptr<arrow::Array>> columns;
  int64_t rows = 0;
  std::string scratch;
};

namespace {

bool binary_like_id(arrow::Type::type t) {
  return t == arrow::Type::BINARY || t == arrow::Type::LARGE_BINARY || t == arrow::Type::BINARY_VIEW ||
         t == arrow::Type::STRING || t == arrow::Type::LARGE_STRING || t == arrow::Type::STRING_VIEW;
}

carrow_kind kind_of(const std::shared_ptr<arrow::DataType>& type) {
  switch (type->id()) {
    case arrow::Type::STRING: case arrow::Type::LARGE_STRING: case arrow::Type::STRING_VIEW: return CARROW_STRING;
    case arrow::Type::BINARY: case arrow::Type::LARGE_BINARY: case arrow::Type::BINARY_VIEW: return CARROW_BINARY;
    case arrow::Type::INT8: case arrow::Type::INT16: case arrow::Type::INT32: case arrow::Type::INT64:
    case arrow::Type::UINT8: case arrow::Type::UINT16: case arrow::Type::UINT32: case arrow::Type::UINT64:
      return CARROW_INT;
    case arrow::Type::HALF_FLOAT: case arrow::Type::FLOAT: case arrow::Type::DOUBLE: return CARROW_FLOAT;
    case arrow::Type::BOOL: return CARROW_BOOL;
    case arrow::Type::STRUCT: {
      auto bytes = static_cast<const arrow::StructType&>(*type).GetFieldByName("bytes");
      if (bytes && binary_like_id(bytes->type()->id())) return CARROW_IMAGE;
      return CARROW_OTHER;
    }
    default: return CARROW_OTHER;
  }
}

/// Bytes of row `row` of a binary-like array.
bool view_bytes(const arrow::Array& array, int64_t row, const uint8_t** data, size_t* length) {
  if (array.IsNull(row)) return false;
  std::string_view v;
  switch (array.type_id()) {
    case arrow::Type::BINARY: case arrow::Type::STRING:
      v = static_cast<const arrow::BinaryArray&>(array).GetView(row); break;
    case arrow::Type::LARGE_BINARY: case arrow::Type::LARGE_STRING:
      v = static_cast<const arrow::LargeBinaryArray&>(array).GetView(row); break;
    case arrow::Type::BINARY_VIEW: case arrow::Type::STRING_VIEW:
      v = static_cast<const arrow::BinaryViewArray&>(array).GetView(row); break;
    default: throw ShimError("column is not binary or string but " + array.type()->ToString());
  }
  *data = reinterpret_cast<const uint8_t*>(v.data());
  *length = v.size();
  return true;
}

const arrow::Array& column_at(carrow_batch b, int column, int64_t row) {
  if (column < 0 || column >= (int)b->columns.size()) throw ShimError("column index out of range");
  if (row < 0 || row >= b->rows) throw ShimError("row index out of range");
  return *b->columns[column];
}

} // namespace

extern "C" int carrow_reader_open(carrow_reader* out, const char* path) {
  CARROW_GUARD({
    auto r = std::make_unique<carrow_reader_s>();
    r->file = unwrap(arrow::io::ReadableFile::Open(path));
    int64_t size = unwrap(r->file->GetSize());
    r->pool = std::make_shared<CappedMemoryPool>(std::max(kReadFloor, kReadExpansion * size));
    r->reader = unwrap(parquet::arrow::OpenFile(r->file, r->pool.get()));
    check(r->reader->GetSchema(&r->schema));
    for (const auto& field : r->schema->fields()) {
      r->names.push_back(field->name());
      r->kinds.push_back(kind_of(field->type()));
    }
    *out = r.release();
  })
}

extern "C" void carrow_reader_free(carrow_reader r) { delete r; }

extern "C" int carrow_reader_num_rows(carrow_reader r, int64_t* out) {
  CARROW_GUARD(*out = r->reader->parquet_reader()->metadata()->num_rows())
}

extern "C" int carrow_reader_num_row_groups(carrow_reader r, int* out) {
  CARROW_GUARD(*out = r->reader->num_row_groups())
}

extern "C" int carrow_reader_num_columns(carrow_reader r, int* out) {
  CARROW_GUARD(*out = (int)r->names.size())
}

extern "C" int carrow_reader_row_group_rows(carrow_reader r, int index, int64_t* out) {
  CARROW_GUARD({
    auto meta = r->reader->parquet_reader()->metadata();
    if (index < 0 || index >= meta->num_row_groups()) throw ShimError("row group index out of range");
    *out = meta->RowGroup(index)->num_rows();
  })
}

extern "C" int carrow_reader_column(carrow_reader r, int index, const char** name, carrow_kind* kind) {
  CARROW_GUARD({
    if (index < 0 || index >= (int)r->names.size()) throw ShimError("column index out of range");
    *name = r->names[index].c_str();
    *kind = r->kinds[index];
  })
}

extern "C" int carrow_reader_schema_metadata(carrow_reader r, const char* key, const char** value) {
  CARROW_GUARD({
    *value = nullptr;
    auto kv = r->schema->metadata();
    if (kv) {
      auto found = kv->Get(key);
      if (found.ok()) {
        r->metadata_value = *found;
        *value = r->metadata_value.c_str();
      }
    }
  })
}

extern "C" int carrow_reader_read_row_group(carrow_reader r, int index, carrow_batch* out) {
  CARROW_GUARD({
    if (index < 0 || index >= r->reader->num_row_groups()) throw ShimError("row group index out of range");
    r->pool->reset_refusal();
    try {
      auto table = unwrap(r->reader->ReadRowGroup(index));
      table = unwrap(table->CombineChunks(r->pool.get()));
      auto b = std::make_unique<carrow_batch_s>();
      b->pool = r->pool;
      b->rows = table->num_rows();
      for (const auto& column : table->columns()) {
        if (column->num_chunks() == 1) b->columns.push_back(column->chunk(0));
        else b->columns.push_back(unwrap(arrow::Concatenate(column->chunks(), r->pool.get())));
      }
      *out = b.release();
    } catch (const ShimError&) {
      if (r->pool->refused() == 0) throw;
      auto rows = r->reader->parquet_reader()->metadata()->RowGroup(index)->num_rows();
      throw ShimError("it declares " + std::to_string(rows) + " rows, and decoding them would take more than " +
                      std::to_string(r->pool->cap() >> 20) + " MiB (the cap: " + std::to_string(kReadExpansion) +
                      " times the file's size, at least " + std::to_string(kReadFloor >> 20) + " MiB): "
                      "the file's metadata declares more data than it holds");
    }
  })
}

extern "C" void carrow_batch_free(carrow_batch b) { delete b; }

extern "C" int carrow_batch_num_rows(carrow_batch b, int64_t* out) { CARROW_GUARD(*out = b->rows) }

extern "C" int carrow_batch_bytes(carrow_batch b, int column, int64_t row, const uint8_t** data, size_t* length,
                                  int* is_null) {
  CARROW_GUARD({
    const auto& array = column_at(b, column, row);
    *data = nullptr;
    *length = 0;
    if (array.type_id() == arrow::Type::STRUCT) {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      auto child = s.GetFieldByName("bytes");
      if (!child) throw ShimError("struct column has no `bytes` field");
      *is_null = (array.IsNull(row) || !view_bytes(*child, row + 0, data, length)) ? 1 : 0;
    } else {
      *is_null = view_bytes(array, row, data, length) ? 0 : 1;
    }
  })
}

extern "C" int carrow_batch_image_path(carrow_batch b, int column, int64_t row, const uint8_t** data, size_t* length,
                                       int* is_null) {
  CARROW_GUARD({
    const auto& array = column_at(b, column, row);
    *data = nullptr;
    *length = 0;
    *is_null = 1;
    if (array.type_id() == arrow::Type::STRUCT && !array.IsNull(row)) {
      auto child = static_cast<const arrow::StructArray&>(array).GetFieldByName("path");
      if (child) *is_null = view_bytes(*child, row, data, length) ? 0 : 1;
    }
  })
}

extern "C" int carrow_batch_text(carrow_batch b, int column, int64_t row, const char** data, size_t* length,
                                 int* is_null) {
  CARROW_GUARD({
    const auto& array = column_at(b, column, row);
    *data = nullptr;
    *length = 0;
    *is_null = array.IsNull(row) ? 1 : 0;
    if (*is_null) return 0;
    if (binary_like_id(array.type_id())) {
      const uint8_t* bytes;
      view_bytes(array, row, &bytes, length);
      *data = reinterpret_cast<const char*>(bytes);
    } else {
      auto scalar = unwrap(array.GetScalar(row));
      b->scratch = scalar->ToString();
      *data = b->scratch.c_str();
      *length = b->scratch.size();
    }
  })
}
