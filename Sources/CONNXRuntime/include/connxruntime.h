// ocrtune's binding of onnxruntime's C API (libonnxruntime from the `onnxruntime` wheel, set up
// by tools/setup.sh): sessions from model files, tensors in and out, model metadata. Plain C:
// opaque handles, every entry point returns 0 on success or -1 with a message the caller frees
// with cort_free. The library's own header is not shipped by the wheel; ort_runtime.c reaches its
// function table by slot number (see there).

#ifndef CONNXRUNTIME_H
#define CONNXRUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Element types, numbered as ONNX's TensorProto.DataType (float 1, uint8 2, int8 3, int32 6,
/// int64 7, bool 9, float16 10).
typedef enum {
    CORT_FLOAT = 1,
    CORT_UINT8 = 2,
    CORT_INT8 = 3,
    CORT_INT32 = 6,
    CORT_INT64 = 7,
    CORT_BOOL = 9,
    CORT_FLOAT16 = 10,
} cort_element_type;

typedef struct cort_session cort_session;

/// A tensor handed to a run: the caller keeps `data` alive for the call.
typedef struct {
    const char* name;
    int element_type;
    const int64_t* shape;
    size_t rank;
    const void* data;
    size_t byte_count;
} cort_input;

/// A tensor a run produced; release it with cort_output_release.
typedef struct {
    void* value;  // the library's OrtValue
    int element_type;
    int64_t shape[8];
    size_t rank;
    const void* data;
} cort_output;

/// The library's version string ("1.32.0"), or NULL when its API cannot be reached.
const char* cort_version(void);

/// Opens a model file. `threads` ≤ 0: the library's default.
int cort_session_open(const char* path, int threads, cort_session** out, char** error);
void cort_session_close(cort_session* session);

/// Number of graph inputs / outputs, and their names (owned by the session).
size_t cort_session_input_count(const cort_session* session);
size_t cort_session_output_count(const cort_session* session);
const char* cort_session_input_name(const cort_session* session, size_t index);
const char* cort_session_output_name(const cort_session* session, size_t index);

/// A custom metadata entry of the model (`*value` NULL when absent; free it with cort_free).
int cort_session_metadata(const cort_session* session, const char* key, char** value, char** error);

/// Runs the graph: `outputs[i]` receives output `output_names[i]`.
int cort_session_run(
    cort_session* session, const cort_input* inputs, size_t input_count, const char* const* output_names,
    size_t output_count, cort_output* outputs, char** error);

void cort_output_release(cort_output* output);
void cort_free(void* pointer);

#ifdef __cplusplus
}
#endif

#endif
