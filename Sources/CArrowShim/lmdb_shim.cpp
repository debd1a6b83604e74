// lmdb_shim.cpp — read-only LMDB access (Debian's liblmdb) behind carrow_shim.h.

#include "carrow_shim.h"
#include "shim_internal.h"

#include <lmdb.h>

#include <cstring>
#include <string>

struct carrow_lmdb_s {
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  ~carrow_lmdb_s() {
    if (txn) mdb_txn_abort(txn);
    if (env) mdb_env_close(env);
  }
};

extern "C" int carrow_lmdb_open(carrow_lmdb* out, const char* path) {
  auto db = new carrow_lmdb_s();
  int rc = mdb_env_create(&db->env);
  if (rc == 0) rc = mdb_env_set_mapsize(db->env, (size_t)1 << 40);
  if (rc == 0) rc = mdb_env_open(db->env, path, MDB_RDONLY | MDB_NOLOCK, 0644);
  if (rc == 0) rc = mdb_txn_begin(db->env, nullptr, MDB_RDONLY, &db->txn);
  if (rc == 0) rc = mdb_dbi_open(db->txn, nullptr, 0, &db->dbi);
  if (rc != 0) {
    carrow::set_error(std::string("lmdb: ") + path + ": " + mdb_strerror(rc));
    carrow_lmdb_free(db);
    return 1;
  }
  *out = db;
  return 0;
}

extern "C" void carrow_lmdb_free(carrow_lmdb db) { delete db; }

extern "C" int carrow_lmdb_get(carrow_lmdb db, const char* key, const uint8_t** data, size_t* length, int* found) {
  MDB_val k{std::strlen(key), const_cast<char*>(key)};
  MDB_val v{0, nullptr};
  int rc = mdb_get(db->txn, db->dbi, &k, &v);
  *found = 0;
  *data = nullptr;
  *length = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) {
    carrow::set_error(std::string("lmdb: ") + key + ": " + mdb_strerror(rc));
    return 1;
  }
  *found = 1;
  *data = static_cast<const uint8_t*>(v.mv_data);
  *length = v.mv_size;
  return 0;
}
