#include "catalog/catalog.h"

#include "common/coding.h"
#include "common/envelope.h"
#include "schema/schema_codec.h"

namespace quiver {
namespace {

constexpr std::string_view kMagic{"QVCAT\x00\x00\x01", 8};
// Version 2 added each vector field's index parameters after the fields,
// version 3 each table's slot map after those.
constexpr uint32_t kVersion = 3;
constexpr std::string_view kCatalogKey = "catalog";

}  // namespace

DatabaseEntry* CatalogState::FindDatabase(std::string_view name) {
  for (auto& db : databases) {
    if (db.name == name) return &db;
  }
  return nullptr;
}

const DatabaseEntry* CatalogState::FindDatabase(std::string_view name) const {
  return const_cast<CatalogState*>(this)->FindDatabase(name);
}

std::string EncodeCatalog(const CatalogState& state) {
  std::string payload;
  ByteWriter w(&payload);
  w.U64(state.next_id);
  w.Varint(state.databases.size());
  for (const auto& db : state.databases) {
    w.U64(db.id);
    w.String(db.name);
    w.String(db.client_path);
    w.U64(static_cast<uint64_t>(db.vector_scale));
    w.U8(db.wal_requested ? 1 : 0);
    w.U8(db.loaded ? 1 : 0);
    w.Varint(db.tables.size());
    for (const auto& table : db.tables) {
      w.U64(table.id);
      w.String(table.schema.name);
      w.Varint(table.schema.fields.size());
      for (const auto& field : table.schema.fields) EncodeField(&w, field);
      for (const auto& field : table.schema.fields) EncodeIndexSpec(&w, field.index);
      EncodeSlotMap(&w, table.slots);
    }
  }
  return SealEnvelope(kMagic, kVersion, payload);
}

Result<CatalogState> DecodeCatalog(std::string_view data) {
  uint32_t version = 0;
  QV_ASSIGN_OR_RETURN(std::string_view payload,
                      OpenEnvelope(data, kMagic, kVersion, "catalog", &version));

  ByteReader r(payload);
  CatalogState state;
  uint64_t db_count;
  QV_RETURN_IF_ERROR(r.U64(&state.next_id));
  QV_RETURN_IF_ERROR(r.Varint(&db_count));
  for (uint64_t i = 0; i < db_count; ++i) {
    DatabaseEntry db;
    uint64_t scale, table_count;
    uint8_t wal, loaded;
    QV_RETURN_IF_ERROR(r.U64(&db.id));
    QV_RETURN_IF_ERROR(r.String(&db.name));
    QV_RETURN_IF_ERROR(r.String(&db.client_path));
    QV_RETURN_IF_ERROR(r.U64(&scale));
    QV_RETURN_IF_ERROR(r.U8(&wal));
    QV_RETURN_IF_ERROR(r.U8(&loaded));
    QV_RETURN_IF_ERROR(r.Varint(&table_count));
    db.vector_scale = static_cast<int64_t>(scale);
    db.wal_requested = wal != 0;
    db.loaded = loaded != 0;
    for (uint64_t t = 0; t < table_count; ++t) {
      TableEntry table;
      uint64_t field_count;
      QV_RETURN_IF_ERROR(r.U64(&table.id));
      QV_RETURN_IF_ERROR(r.String(&table.schema.name));
      QV_RETURN_IF_ERROR(r.Varint(&field_count));
      for (uint64_t f = 0; f < field_count; ++f) {
        Field field;
        QV_RETURN_IF_ERROR(DecodeField(&r, &field).WithContext("catalog"));
        table.schema.fields.push_back(std::move(field));
      }
      for (Field& field : table.schema.fields) {
        if (version >= 2) {
          QV_RETURN_IF_ERROR(DecodeIndexSpec(&r, &field.index).WithContext("catalog"));
        } else if (field.type == DataType::kSparseVectorFloat) {
          field.index.type = IndexType::kFlat;
        }
      }
      if (version >= 3) QV_RETURN_IF_ERROR(DecodeSlotMap(&r, &table.slots).WithContext("catalog"));
      db.tables.push_back(std::move(table));
    }
    state.databases.push_back(std::move(db));
  }
  if (r.remaining() != 0) return Status::Corruption("catalog: trailing bytes");
  return state;
}

Result<Catalog> Catalog::Load(MetaStore* store) {
  Catalog catalog(store);
  QV_ASSIGN_OR_RETURN(auto blob, store->Get(kCatalogKey));
  if (blob) {
    catalog.revision_ = blob->mod_revision;
    auto decoded = DecodeCatalog(blob->value);
    if (!decoded.ok()) return decoded.status().WithContext("loading the catalog");
    catalog.state_ = std::move(decoded).value();
  }
  return catalog;
}

Result<Revision> Catalog::Persist(MetaStore* store, const CatalogState& next, Revision expected) {
  return store->CompareAndPut(kCatalogKey, EncodeCatalog(next), expected);
}

Status Catalog::Commit(CatalogState next) {
  QV_ASSIGN_OR_RETURN(Revision revision, Persist(store_, next, revision_));
  Install(std::move(next), revision);
  return Status::OK();
}

}  // namespace quiver
