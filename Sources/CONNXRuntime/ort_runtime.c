// onnxruntime's C API reached through its function table. The wheel ships libonnxruntime but
// not its header, so the table (`OrtApi`, a struct of function pointers that onnxruntime only
// ever appends to) is read by slot number: each slot below is the member's position in
// onnxruntime_c_api.h (all within API version 1–2, so any library that grants version 16 has
// them). Reference: onnxruntime include/onnxruntime/core/session/onnxruntime_c_api.h.

#include "connxruntime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MARK: - The function table

typedef struct OrtStatus OrtStatus;
typedef struct OrtApiBase {
    const void* (*GetApi)(uint32_t version);
    const char* (*GetVersionString)(void);
} OrtApiBase;
extern const OrtApiBase* OrtGetApiBase(void);

/// The API version asked for: 16 (onnxruntime 1.16); every slot used here is older.
#define CORT_API_VERSION 16

enum {
    SLOT_GetErrorMessage = 2,
    SLOT_CreateEnv = 3,
    SLOT_CreateSession = 7,
    SLOT_Run = 9,
    SLOT_CreateSessionOptions = 10,
    SLOT_SetSessionLogSeverityLevel = 22,
    SLOT_SetSessionGraphOptimizationLevel = 23,
    SLOT_SetIntraOpNumThreads = 24,
    SLOT_SetInterOpNumThreads = 25,
    SLOT_SessionGetInputCount = 30,
    SLOT_SessionGetOutputCount = 31,
    SLOT_SessionGetInputName = 36,
    SLOT_SessionGetOutputName = 37,
    SLOT_CreateTensorWithDataAsOrtValue = 49,
    SLOT_GetTensorMutableData = 51,
    SLOT_GetTensorElementType = 60,
    SLOT_GetDimensionsCount = 61,
    SLOT_GetDimensions = 62,
    SLOT_GetTensorTypeAndShape = 65,
    SLOT_CreateCpuMemoryInfo = 69,
    SLOT_AllocatorFree = 76,
    SLOT_GetAllocatorWithDefaultOptions = 78,
    SLOT_ReleaseEnv = 92,
    SLOT_ReleaseStatus = 93,
    SLOT_ReleaseMemoryInfo = 94,
    SLOT_ReleaseSession = 95,
    SLOT_ReleaseValue = 96,
    SLOT_ReleaseTensorTypeAndShapeInfo = 99,
    SLOT_ReleaseSessionOptions = 100,
    SLOT_SessionGetModelMetadata = 111,
    SLOT_ModelMetadataLookupCustomMetadataMap = 116,
    SLOT_ReleaseModelMetadata = 118,
};

typedef void* Handle;
typedef OrtStatus* (*StatusFn0)(Handle*);
typedef OrtStatus* (*CreateEnvFn)(int level, const char* logid, Handle* out);
typedef OrtStatus* (*CreateSessionFn)(Handle env, const char* path, Handle options, Handle* out);
typedef OrtStatus* (*RunFn)(
    Handle session, Handle run_options, const char* const* input_names, const Handle* inputs, size_t input_count,
    const char* const* output_names, size_t output_count, Handle* outputs);
typedef OrtStatus* (*OptionsIntFn)(Handle options, int value);
typedef OrtStatus* (*CountFn)(Handle session, size_t* out);
typedef OrtStatus* (*NameFn)(Handle session, size_t index, Handle allocator, char** out);
typedef OrtStatus* (*CreateTensorFn)(
    Handle info, void* data, size_t bytes, const int64_t* shape, size_t rank, int type, Handle* out);
typedef OrtStatus* (*DataFn)(Handle value, void** out);
typedef OrtStatus* (*ElementTypeFn)(Handle info, int* out);
typedef OrtStatus* (*DimCountFn)(Handle info, size_t* out);
typedef OrtStatus* (*DimsFn)(Handle info, int64_t* out, size_t count);
typedef OrtStatus* (*TypeAndShapeFn)(Handle value, Handle* out);
typedef OrtStatus* (*CpuInfoFn)(int allocator_type, int mem_type, Handle* out);
typedef OrtStatus* (*AllocatorFreeFn)(Handle allocator, void* p);
typedef OrtStatus* (*MetadataFn)(Handle session, Handle* out);
typedef OrtStatus* (*LookupFn)(Handle metadata, Handle allocator, const char* key, char** out);
typedef const char* (*MessageFn)(const OrtStatus*);
typedef void (*ReleaseFn)(Handle);

static const void* const* table(void) {
    static const void* const* api = NULL;
    static int tried = 0;
    if (!tried) {
        tried = 1;
        const OrtApiBase* base = OrtGetApiBase();
        if (base) api = (const void* const*)base->GetApi(CORT_API_VERSION);
    }
    return api;
}

#define API(type, slot) ((type)table()[slot])

// MARK: - Errors

static char* copy_string(const char* s) {
    size_t n = strlen(s) + 1;
    char* out = malloc(n);
    if (out) memcpy(out, s, n);
    return out;
}

static int fail(char** error, const char* message) {
    if (error) *error = copy_string(message);
    return -1;
}

/// A status turned into the return code (the message copied out, the status released).
static int check(OrtStatus* status, char** error) {
    if (!status) return 0;
    const char* message = API(MessageFn, SLOT_GetErrorMessage)(status);
    fail(error, message ? message : "onnxruntime failed");
    API(ReleaseFn, SLOT_ReleaseStatus)((Handle)status);
    return -1;
}

#define CHECK(call)                              \
    do {                                         \
        if (check((call), error) != 0) goto done; \
    } while (0)

// MARK: - Shared state

static Handle shared_env(char** error) {
    static Handle env = NULL;
    if (!env) {
        // Level 3: errors only (warnings about unused initializers would reach the terminal).
        if (check(API(CreateEnvFn, SLOT_CreateEnv)(3, "ocrtune", &env), error) != 0) return NULL;
    }
    return env;
}

static Handle default_allocator(void) {
    Handle allocator = NULL;
    OrtStatus* status = API(StatusFn0, SLOT_GetAllocatorWithDefaultOptions)(&allocator);
    if (status) API(ReleaseFn, SLOT_ReleaseStatus)((Handle)status);
    return allocator;
}

const char* cort_version(void) {
    const OrtApiBase* base = OrtGetApiBase();
    if (!base || !table()) return NULL;
    return base->GetVersionString();
}

// MARK: - Sessions

struct cort_session {
    Handle session;
    char** input_names;
    char** output_names;
    size_t input_count;
    size_t output_count;
};

static char** copy_names(Handle session, size_t count, int slot, char** error) {
    char** names = calloc(count ? count : 1, sizeof(char*));
    Handle allocator = default_allocator();
    for (size_t i = 0; i < count; i++) {
        char* name = NULL;
        if (check(API(NameFn, slot)(session, i, allocator, &name), error) != 0) return names;
        names[i] = copy_string(name);
        OrtStatus* status = API(AllocatorFreeFn, SLOT_AllocatorFree)(allocator, name);
        if (status) API(ReleaseFn, SLOT_ReleaseStatus)((Handle)status);
    }
    return names;
}

int cort_session_open(const char* path, int threads, cort_session** out, char** error) {
    *out = NULL;
    if (!table()) return fail(error, "onnxruntime: the library does not grant API version 16");
    Handle env = shared_env(error);
    if (!env) return -1;
    Handle options = NULL;
    Handle session = NULL;
    int rc = -1;
    CHECK(API(StatusFn0, SLOT_CreateSessionOptions)(&options));
    CHECK(API(OptionsIntFn, SLOT_SetSessionLogSeverityLevel)(options, 3));
    CHECK(API(OptionsIntFn, SLOT_SetSessionGraphOptimizationLevel)(options, 99));
    if (threads > 0) {
        CHECK(API(OptionsIntFn, SLOT_SetIntraOpNumThreads)(options, threads));
        CHECK(API(OptionsIntFn, SLOT_SetInterOpNumThreads)(options, 1));
    }
    CHECK(API(CreateSessionFn, SLOT_CreateSession)(env, path, options, &session));
    cort_session* s = calloc(1, sizeof(cort_session));
    s->session = session;
    session = NULL;
    if (check(API(CountFn, SLOT_SessionGetInputCount)(s->session, &s->input_count), error) != 0
        || check(API(CountFn, SLOT_SessionGetOutputCount)(s->session, &s->output_count), error) != 0) {
        cort_session_close(s);
        goto done;
    }
    s->input_names = copy_names(s->session, s->input_count, SLOT_SessionGetInputName, error);
    s->output_names = copy_names(s->session, s->output_count, SLOT_SessionGetOutputName, error);
    *out = s;
    rc = 0;
done:
    if (session) API(ReleaseFn, SLOT_ReleaseSession)(session);
    if (options) API(ReleaseFn, SLOT_ReleaseSessionOptions)(options);
    return rc;
}

void cort_session_close(cort_session* s) {
    if (!s) return;
    if (s->session) API(ReleaseFn, SLOT_ReleaseSession)(s->session);
    for (size_t i = 0; s->input_names && i < s->input_count; i++) free(s->input_names[i]);
    for (size_t i = 0; s->output_names && i < s->output_count; i++) free(s->output_names[i]);
    free(s->input_names);
    free(s->output_names);
    free(s);
}

size_t cort_session_input_count(const cort_session* s) { return s->input_count; }
size_t cort_session_output_count(const cort_session* s) { return s->output_count; }

const char* cort_session_input_name(const cort_session* s, size_t index) {
    return index < s->input_count && s->input_names[index] ? s->input_names[index] : "";
}

const char* cort_session_output_name(const cort_session* s, size_t index) {
    return index < s->output_count && s->output_names[index] ? s->output_names[index] : "";
}

int cort_session_metadata(const cort_session* s, const char* key, char** value, char** error) {
    *value = NULL;
    Handle metadata = NULL;
    Handle allocator = default_allocator();
    char* found = NULL;
    int rc = -1;
    CHECK(API(MetadataFn, SLOT_SessionGetModelMetadata)(s->session, &metadata));
    CHECK(API(LookupFn, SLOT_ModelMetadataLookupCustomMetadataMap)(metadata, allocator, key, &found));
    if (found) {
        *value = copy_string(found);
        OrtStatus* status = API(AllocatorFreeFn, SLOT_AllocatorFree)(allocator, found);
        if (status) API(ReleaseFn, SLOT_ReleaseStatus)((Handle)status);
    }
    rc = 0;
done:
    if (metadata) API(ReleaseFn, SLOT_ReleaseModelMetadata)(metadata);
    return rc;
}

// MARK: - Running

static int describe_output(Handle value, cort_output* out, char** error) {
    Handle info = NULL;
    size_t rank = 0;
    void* data = NULL;
    int rc = -1;
    out->value = value;
    CHECK(API(TypeAndShapeFn, SLOT_GetTensorTypeAndShape)(value, &info));
    CHECK(API(ElementTypeFn, SLOT_GetTensorElementType)(info, &out->element_type));
    CHECK(API(DimCountFn, SLOT_GetDimensionsCount)(info, &rank));
    if (rank > 8) {
        fail(error, "onnxruntime: an output has more than 8 dimensions");
        goto done;
    }
    out->rank = rank;
    CHECK(API(DimsFn, SLOT_GetDimensions)(info, out->shape, rank));
    CHECK(API(DataFn, SLOT_GetTensorMutableData)(value, &data));
    out->data = data;
    rc = 0;
done:
    if (info) API(ReleaseFn, SLOT_ReleaseTensorTypeAndShapeInfo)(info);
    return rc;
}

int cort_session_run(
    cort_session* s, const cort_input* inputs, size_t input_count, const char* const* output_names,
    size_t output_count, cort_output* outputs, char** error) {
    Handle memory = NULL;
    Handle* values = calloc(input_count ? input_count : 1, sizeof(Handle));
    const char** names = calloc(input_count ? input_count : 1, sizeof(char*));
    Handle* results = calloc(output_count ? output_count : 1, sizeof(Handle));
    int rc = -1;
    memset(outputs, 0, output_count * sizeof(cort_output));
    CHECK(API(CpuInfoFn, SLOT_CreateCpuMemoryInfo)(1 /* arena */, 0 /* default */, &memory));
    for (size_t i = 0; i < input_count; i++) {
        names[i] = inputs[i].name;
        CHECK(API(CreateTensorFn, SLOT_CreateTensorWithDataAsOrtValue)(
            memory, (void*)inputs[i].data, inputs[i].byte_count, inputs[i].shape, inputs[i].rank,
            inputs[i].element_type, &values[i]));
    }
    CHECK(API(RunFn, SLOT_Run)(s->session, NULL, names, values, input_count, output_names, output_count, results));
    for (size_t i = 0; i < output_count; i++) {
        if (describe_output(results[i], &outputs[i], error) != 0) {
            for (size_t j = i + 1; j < output_count; j++) API(ReleaseFn, SLOT_ReleaseValue)(results[j]);
            for (size_t j = 0; j <= i; j++) cort_output_release(&outputs[j]);
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < input_count; i++) {
        if (values[i]) API(ReleaseFn, SLOT_ReleaseValue)(values[i]);
    }
    if (memory) API(ReleaseFn, SLOT_ReleaseMemoryInfo)(memory);
    free(values);
    free(names);
    free(results);
    return rc;
}

void cort_output_release(cort_output* output) {
    if (output && output->value) {
        API(ReleaseFn, SLOT_ReleaseValue)(output->value);
        output->value = NULL;
        output->data = NULL;
    }
}

void cort_free(void* pointer) { free(pointer); }
