#include "index/vector_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"
#include "index/distances.h"
#include "index/index_file.h"
#include "index/ivf.h"
#include "index/sq8.h"
#include "kernels/kernels.h"

namespace quiver::index {
namespace {

// ---- HNSW and HNSW_SQ8 -------------------------------------------------------

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(IndexType type, HnswGraph graph, const VectorSet& vectors,
            std::span<const float> inverse_norms, Sq8 sq8, std::shared_ptr<const MappedFile> file)
      : type_(type),
        graph_(std::move(graph)),
        vectors_(vectors),
        inv_(inverse_norms),
        sq8_(sq8),
        file_(std::move(file)) {}

  IndexType type() const override { return type_; }
  size_t rows() const override { return vectors_.rows; }
  size_t bytes() const override { return file_->data().size(); }

  std::vector<ScoredRow> Search(const QueryVector& query, const IndexQuery& p) const override {
    thread_local HnswSearchContext context;
    const size_t ef = std::max(p.ef, p.k);
    bool two_hop = false;
    if (!p.allowed.empty()) {
      const size_t allowed = AllowedRows(p, vectors_.rows);
      if (PreferExactScan(allowed, vectors_.rows, ef)) return ExactScan(vectors_, query, p);
      two_hop = p.walk == IndexQuery::Walk::kTwoHop ||
                (p.walk == IndexQuery::Walk::kAuto &&
                 double(allowed) < kTwoHopBelow * double(vectors_.rows));
    }
    if (type_ == IndexType::kHnswSq8) {
      // The whole candidate list goes back for exact re-ranking.
      return graph_.Search(Sq8Query(vectors_, sq8_, query.floats), ef, ef, p.allowed, &context,
                           two_hop);
    }
    // The walk's whole candidate list, then the k first under the caller's
    // tie order (the graph alone would cut ties at the k-th arbitrarily).
    if (vectors_.bits != nullptr) {
      return FirstK(
          graph_.Search(BinaryQuery(vectors_, query.bits), ef, ef, p.allowed, &context, two_hop),
          p.k, p.tie);
    }
    return FirstK(graph_.Search(FloatQuery(vectors_, query.floats, inv_), ef, ef, p.allowed,
                                &context, two_hop),
                  p.k, p.tie);
  }

 private:
  const IndexType type_;
  const HnswGraph graph_;
  const VectorSet vectors_;
  std::span<const float> inv_;
  Sq8 sq8_;
  std::shared_ptr<const MappedFile> file_;
};

Status CheckVectors(const VectorSet& v, bool binary_ok) {
  if ((v.floats == nullptr) == (v.bits == nullptr))
    return Status::InvalidArgument("index: give float or binary vectors");
  if (v.bits != nullptr && !binary_ok)
    return Status::InvalidArgument("index: this index type needs float vectors");
  if (v.rows >= UINT32_MAX) return Status::InvalidArgument("index: too many rows");
  return Status::OK();
}

}  // namespace

Result<std::string> BuildIndexFile(const VectorSet& vectors, const IndexSpec& spec,
                                   const std::atomic<bool>* stop) {
  FileHeader header;
  header.type = spec.type;
  header.rows = vectors.rows;
  header.dims = vectors.dims;
  header.metric = vectors.metric;
  header.segment_id = vectors.segment_id;
  header.min_lsn = vectors.min_lsn;
  header.max_lsn = vectors.max_lsn;
  if (spec.type == IndexType::kIvfFlat) {
    QV_RETURN_IF_ERROR(CheckVectors(vectors, false));
    QV_ASSIGN_OR_RETURN(std::string blob, BuildIvfFlat(vectors, spec));
    FileWriter writer(header);
    writer.Add<char>(kFaiss, blob);
    return writer.Finish();
  }
  if (spec.type != IndexType::kHnsw && spec.type != IndexType::kHnswSq8)
    return Status::InvalidArgument("index: FLAT has no index file");
  QV_RETURN_IF_ERROR(CheckVectors(vectors, spec.type == IndexType::kHnsw));
  std::vector<float> inverse_norms;
  if (vectors.metric == Metric::kCosine) inverse_norms = InverseNorms(vectors);
  const RowsDistance rows(vectors, inverse_norms);
  const HnswGraph graph = HnswGraph::Build(rows, {spec.m, spec.ef_construction, 42}, stop);
  if (stop != nullptr && stop->load()) return Status::Unavailable("index build stopped");
  const HnswLayout layout = graph.layout();
  header.m = layout.m;
  header.entry = layout.entry;
  header.max_level = layout.max_level;
  FileWriter writer(header);
  writer.Add(kLevels, layout.levels);
  writer.Add(kLevel0, layout.level0);
  writer.Add(kUpper, layout.upper);
  if (!inverse_norms.empty()) writer.Add<float>(kInverseNorms, inverse_norms);
  if (spec.type == IndexType::kHnswSq8) {
    std::vector<float> min, step;
    std::vector<uint8_t> codes;
    TrainSq8(vectors, inverse_norms, &min, &step, &codes);
    writer.Add<float>(kSq8Min, min);
    writer.Add<float>(kSq8Step, step);
    writer.Add<uint8_t>(kSq8Codes, codes);
  }
  return writer.Finish();
}

Result<std::string> DescribeIndexFile(std::string_view file, const std::string& path) {
  QV_ASSIGN_OR_RETURN(FileReader reader, FileReader::Open(file, path));
  const FileHeader& h = reader.header();
  static const char* const kNames[] = {"",           "levels",  "level 0",  "upper levels",
                                       "inv. norms", "SQ8 min", "SQ8 step", "SQ8 codes",
                                       "Faiss"};
  std::string out = std::string(IndexTypeName(h.type)) + " index, " + std::to_string(file.size()) +
                    " bytes, checksums OK: " + std::to_string(h.rows) + " rows, " +
                    std::to_string(h.dims) + " dimensions, " + MetricName(h.metric) + ", M " +
                    std::to_string(h.m) + ", entry row " + std::to_string(h.entry) +
                    ", top level " + std::to_string(h.max_level) + "\n";
  for (const Section& s : reader.sections()) {
    out += "  " + std::string(s.kind < std::size(kNames) ? kNames[s.kind] : "unknown") +
           ": offset " + std::to_string(s.offset) + ", " + std::to_string(s.length) + " bytes\n";
  }
  return out;
}

Result<std::unique_ptr<VectorIndex>> OpenIndexFile(std::shared_ptr<const MappedFile> file,
                                                   const VectorSet& vectors,
                                                   const std::string& path) {
  QV_ASSIGN_OR_RETURN(FileReader reader, FileReader::Open(file->data(), path));
  const FileHeader& h = reader.header();
  if (h.rows != vectors.rows || h.dims != vectors.dims || h.metric != vectors.metric ||
      h.segment_id != vectors.segment_id || h.min_lsn != vectors.min_lsn ||
      h.max_lsn != vectors.max_lsn) {
    return Status::Corruption("index " + path + ": built for other vectors (segment " +
                              std::to_string(h.segment_id) + ", LSN " + std::to_string(h.min_lsn) +
                              ".." + std::to_string(h.max_lsn) + ", " + std::to_string(h.rows) +
                              " rows of " + std::to_string(h.dims) + " dimensions)");
  }
  QV_RETURN_IF_ERROR(CheckVectors(vectors, h.type == IndexType::kHnsw));
  if (h.type == IndexType::kIvfFlat) {
    QV_ASSIGN_OR_RETURN(auto blob, reader.Get<char>(kFaiss, 0, path));
    auto index = OpenIvfFlat(std::string_view(blob.data(), blob.size()), vectors, file);
    if (!index.ok()) return index.status().WithContext("index " + path);
    return index;
  }
  const size_t n = vectors.rows;
  HnswLayout layout;
  layout.m = h.m;
  layout.entry = h.entry;
  layout.max_level = h.max_level;
  QV_ASSIGN_OR_RETURN(layout.levels, reader.Get<uint8_t>(kLevels, n, path));
  if (h.m < 2 || h.m > kMaxIndexM) return Status::Corruption("index " + path + ": bad M");
  QV_ASSIGN_OR_RETURN(layout.level0, reader.Get<uint32_t>(kLevel0, n * (2 * h.m + 1), path));
  QV_ASSIGN_OR_RETURN(layout.upper, reader.Get<uint32_t>(kUpper, 0, path));
  auto graph = HnswGraph::FromLayout(layout, nullptr);
  if (!graph.ok()) return graph.status().WithContext("index " + path);
  std::span<const float> inverse_norms;
  if (vectors.metric == Metric::kCosine) {
    QV_ASSIGN_OR_RETURN(inverse_norms, reader.Get<float>(kInverseNorms, n, path));
  }
  Sq8 sq8;
  if (h.type == IndexType::kHnswSq8) {
    QV_ASSIGN_OR_RETURN(sq8.min, reader.Get<float>(kSq8Min, h.dims, path));
    QV_ASSIGN_OR_RETURN(sq8.step, reader.Get<float>(kSq8Step, h.dims, path));
    QV_ASSIGN_OR_RETURN(sq8.codes, reader.Get<uint8_t>(kSq8Codes, n * h.dims, path));
  }
  return std::unique_ptr<VectorIndex>(std::make_unique<HnswIndex>(
      h.type, std::move(graph).value(), vectors, inverse_norms, sq8, std::move(file)));
}

}  // namespace quiver::index
