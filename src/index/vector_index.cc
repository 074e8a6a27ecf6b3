#include "index/vector_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"
#include "index/ivf.h"
#include "kernels/kernels.h"

namespace quiver::index {
namespace {

// ---- Index file layout (docs/FORMATS.md, "Index files") --------------------

constexpr std::string_view kMagic{"QVIDX\x00\x00\x01", 8};
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderSize = 512;
constexpr size_t kMaxSections = 8;
constexpr size_t kAlignment = 64;

enum SectionKind : uint32_t {
  kLevels = 1,        // u8 per row
  kLevel0 = 2,        // u32: per row a count and 2M slots
  kUpper = 3,         // u32: per row above level 0, per level a count and M slots
  kInverseNorms = 4,  // f32 per row (COSINE): 1 / |row|, 0 for a zero row
  kSq8Min = 5,        // f32 per dimension
  kSq8Step = 6,       // f32 per dimension
  kSq8Codes = 7,      // u8 per row and dimension
  kFaiss = 8,         // a Faiss index (IVF_FLAT) in Faiss's own serialisation
};

struct Section {
  uint32_t kind = 0;
  uint64_t offset = 0, length = 0;
};

struct FileHeader {
  IndexType type = IndexType::kHnsw;
  uint64_t rows = 0;
  uint32_t dims = 0;
  Metric metric = Metric::kEuclidean;
  uint32_t m = 0, entry = 0;
  int32_t max_level = -1;
  uint64_t segment_id = 0, min_lsn = 0, max_lsn = 0;
};

class FileWriter {
 public:
  explicit FileWriter(const FileHeader& header) : header_(header) {}

  template <typename T>
  void Add(uint32_t kind, std::span<const T> data) {
    body_.resize((body_.size() + kAlignment - 1) / kAlignment * kAlignment, '\0');
    sections_.push_back({kind, kHeaderSize + body_.size(), data.size_bytes()});
    body_.append(reinterpret_cast<const char*>(data.data()), data.size_bytes());
  }

  std::string Finish() {
    std::string out;
    ByteWriter w(&out);
    w.Raw(kMagic.data(), kMagic.size());
    w.U32(kVersion);
    w.U32(static_cast<uint32_t>(header_.type));
    w.U64(header_.rows);
    w.U32(header_.dims);
    w.U32(static_cast<uint32_t>(header_.metric));
    w.U32(header_.m);
    w.U32(header_.entry);
    w.U32(static_cast<uint32_t>(header_.max_level));
    w.U32(static_cast<uint32_t>(sections_.size()));
    w.U64(header_.segment_id);
    w.U64(header_.min_lsn);
    w.U64(header_.max_lsn);
    for (size_t i = 0; i < kMaxSections; ++i) {
      const Section s = i < sections_.size() ? sections_[i] : Section{};
      w.U32(s.kind);
      w.U32(0);
      w.U64(s.offset);
      w.U64(s.length);
    }
    out.resize(kHeaderSize - 16, '\0');  // reserved, zero
    w.U64(Checksum64(body_));
    w.U64(Checksum64(out));
    out += body_;
    return out;
  }

 private:
  FileHeader header_;
  std::vector<Section> sections_;
  std::string body_;
};

class FileReader {
 public:
  static Result<FileReader> Open(std::string_view file, const std::string& path) {
    FileReader reader;
    reader.file_ = file;
    auto bad = [&](const std::string& what, uint64_t offset) {
      return Status::Corruption("index " + path + ": " + what + " at offset " +
                                std::to_string(offset));
    };
    if (file.size() < kHeaderSize || file.substr(0, kMagic.size()) != kMagic)
      return bad("bad header", 0);
    ByteReader r(file.substr(kMagic.size(), kHeaderSize - kMagic.size()));
    uint32_t version, type, metric, max_level, count;
    uint64_t body_sum, header_sum;
    FileHeader& h = reader.header_;
    QV_RETURN_IF_ERROR(r.U32(&version));
    QV_RETURN_IF_ERROR(r.U32(&type));
    QV_RETURN_IF_ERROR(r.U64(&h.rows));
    QV_RETURN_IF_ERROR(r.U32(&h.dims));
    QV_RETURN_IF_ERROR(r.U32(&metric));
    QV_RETURN_IF_ERROR(r.U32(&h.m));
    QV_RETURN_IF_ERROR(r.U32(&h.entry));
    QV_RETURN_IF_ERROR(r.U32(&max_level));
    QV_RETURN_IF_ERROR(r.U32(&count));
    QV_RETURN_IF_ERROR(r.U64(&h.segment_id));
    QV_RETURN_IF_ERROR(r.U64(&h.min_lsn));
    QV_RETURN_IF_ERROR(r.U64(&h.max_lsn));
    std::vector<Section> sections(kMaxSections);
    for (Section& s : sections) {
      uint32_t zero;
      QV_RETURN_IF_ERROR(r.U32(&s.kind));
      QV_RETURN_IF_ERROR(r.U32(&zero));
      QV_RETURN_IF_ERROR(r.U64(&s.offset));
      QV_RETURN_IF_ERROR(r.U64(&s.length));
    }
    std::string_view reserved;
    QV_RETURN_IF_ERROR(r.View(kHeaderSize - 16 - 264, &reserved));
    QV_RETURN_IF_ERROR(r.U64(&body_sum));
    QV_RETURN_IF_ERROR(r.U64(&header_sum));
    if (Checksum64(file.substr(0, kHeaderSize - 8)) != header_sum)
      return bad("header checksum mismatch", 0);
    if (Checksum64(file.substr(kHeaderSize)) != body_sum)
      return bad("body checksum mismatch", kHeaderSize);
    if (version != kVersion) return bad("unsupported version " + std::to_string(version), 8);
    if (type > static_cast<uint32_t>(IndexType::kIvfFlat) || type == 0)
      return bad("unknown index type", 12);
    if (metric > static_cast<uint32_t>(Metric::kJaccard)) return bad("unknown metric", 28);
    if (count > kMaxSections) return bad("too many sections", 44);
    h.type = static_cast<IndexType>(type);
    h.metric = static_cast<Metric>(metric);
    h.max_level = static_cast<int32_t>(max_level);
    for (uint32_t i = 0; i < count; ++i) {
      const Section& s = sections[i];
      if (s.offset < kHeaderSize || s.offset % kAlignment != 0 || s.offset > file.size() ||
          s.length > file.size() - s.offset) {
        return bad("section " + std::to_string(i) + " out of bounds", 72 + 24 * i);
      }
      reader.sections_.push_back(s);
    }
    return reader;
  }

  const FileHeader& header() const { return header_; }
  const std::vector<Section>& sections() const { return sections_; }

  // The section of `kind` holding exactly `count` items (count 0: any).
  template <typename T>
  Result<std::span<const T>> Get(uint32_t kind, size_t count, const std::string& path) const {
    for (const Section& s : sections_) {
      if (s.kind != kind) continue;
      if (s.length % sizeof(T) != 0 || (count != 0 && s.length != count * sizeof(T))) {
        return Status::Corruption("index " + path + ": section " + std::to_string(kind) +
                                  " has the wrong size at offset " + std::to_string(s.offset));
      }
      return std::span<const T>(reinterpret_cast<const T*>(file_.data() + s.offset),
                                s.length / sizeof(T));
    }
    return Status::Corruption("index " + path + ": section " + std::to_string(kind) +
                              " is missing");
  }

 private:
  std::string_view file_;
  FileHeader header_;
  std::vector<Section> sections_;
};

// ---- Distances ---------------------------------------------------------------

std::vector<float> InverseNorms(const VectorSet& v) {
  const kernels::KernelSet& k = kernels::Active();
  std::vector<float> out(v.rows);
  for (size_t r = 0; r < v.rows; ++r) {
    const float* x = v.floats + r * v.dims;
    const float norm = std::sqrt(k.inner_product(x, x, v.dims));
    out[r] = norm > 0 ? 1.0f / norm : 0.0f;
  }
  return out;
}

// Between stored rows, while building (exact).
class RowsDistance final : public RowDistance {
 public:
  RowsDistance(const VectorSet& v, std::span<const float> inverse_norms)
      : v_(v), inv_(inverse_norms), k_(kernels::Active()), words_(BinaryWords(v.dims)) {}
  size_t size() const override { return v_.rows; }
  float Between(uint32_t a, uint32_t b) const override {
    if (v_.bits != nullptr) {
      const uint64_t* x = v_.bits + a * words_;
      const uint64_t* y = v_.bits + b * words_;
      if (v_.metric == Metric::kJaccard) return kernels::JaccardDistance(k_, x, y, words_);
      return static_cast<float>(k_.hamming(x, y, words_));
    }
    const float* x = v_.floats + size_t{a} * v_.dims;
    const float* y = v_.floats + size_t{b} * v_.dims;
    switch (v_.metric) {
      case Metric::kDotProduct:
        return -k_.inner_product(x, y, v_.dims);
      case Metric::kCosine:
        return 1.0f - k_.inner_product(x, y, v_.dims) * inv_[a] * inv_[b];
      default:
        return k_.l2_squared(x, y, v_.dims);
    }
  }

 private:
  const VectorSet v_;
  std::span<const float> inv_;
  const kernels::KernelSet& k_;
  size_t words_;
};

inline void PrefetchLines(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t at = 0; at < bytes && at < 256; at += 64) __builtin_prefetch(c + at);
}

// From a query to float rows (exact). COSINE uses the rows' inverse norms
// when given, else computes them.
class FloatQuery final : public QueryDistance {
 public:
  FloatQuery(const VectorSet& v, const float* q, std::span<const float> inverse_norms)
      : v_(v), q_(q), inv_(inverse_norms), k_(kernels::Active()) {
    if (v.metric == Metric::kCosine) {
      const float norm = std::sqrt(k_.inner_product(q, q, v.dims));
      inv_q_ = norm > 0 ? 1.0f / norm : 0.0f;
    }
  }
  float To(uint32_t row) const override {
    const float* x = v_.floats + size_t{row} * v_.dims;
    switch (v_.metric) {
      case Metric::kDotProduct:
        return -k_.inner_product(q_, x, v_.dims);
      case Metric::kCosine: {
        if (!inv_.empty()) return 1.0f - k_.inner_product(q_, x, v_.dims) * inv_q_ * inv_[row];
        const float norm = std::sqrt(k_.inner_product(x, x, v_.dims));
        return 1.0f - k_.inner_product(q_, x, v_.dims) * inv_q_ * (norm > 0 ? 1.0f / norm : 0.0f);
      }
      default:
        return k_.l2_squared(q_, x, v_.dims);
    }
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(v_.floats + size_t{row} * v_.dims, v_.dims * sizeof(float));
  }

 private:
  const VectorSet v_;
  const float* q_;
  std::span<const float> inv_;
  const kernels::KernelSet& k_;
  float inv_q_ = 0;
};

class BinaryQuery final : public QueryDistance {
 public:
  BinaryQuery(const VectorSet& v, const uint64_t* q)
      : v_(v), q_(q), k_(kernels::Active()), words_(BinaryWords(v.dims)) {}
  float To(uint32_t row) const override {
    const uint64_t* x = v_.bits + row * words_;
    if (v_.metric == Metric::kJaccard) return kernels::JaccardDistance(k_, q_, x, words_);
    return static_cast<float>(k_.hamming(q_, x, words_));
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(v_.bits + row * words_, words_ * sizeof(uint64_t));
  }

 private:
  const VectorSet v_;
  const uint64_t* q_;
  const kernels::KernelSet& k_;
  size_t words_;
};

// 8-bit scalar quantization: per dimension x ~ min + code * step. For COSINE
// the codes quantize the normalised rows.
struct Sq8 {
  std::span<const float> min, step;
  std::span<const uint8_t> codes;
};

// From a query to the codes: the same distance as FloatQuery, computed on the
// decoded rows (so it is approximate).
class Sq8Query final : public QueryDistance {
 public:
  Sq8Query(const VectorSet& v, const Sq8& sq8, const float* q)
      : sq8_(sq8), dims_(v.dims), metric_(v.metric), k_(kernels::Active()), a_(v.dims) {
    std::vector<float> query(q, q + dims_);
    if (metric_ == Metric::kCosine) {
      const float norm = std::sqrt(k_.inner_product(q, q, dims_));
      for (float& x : query) x = norm > 0 ? x / norm : 0.0f;
    }
    if (metric_ == Metric::kEuclidean) {
      // sum (q - min - c step)^2 = sum step^2 ((q - min) / step - c)^2
      w_.resize(dims_);
      for (size_t i = 0; i < dims_; ++i) {
        const float step = sq8.step[i];
        a_[i] = step > 0 ? (query[i] - sq8.min[i]) / step : 0.0f;
        w_[i] = step * step;
        if (step == 0) constant_ += (query[i] - sq8.min[i]) * (query[i] - sq8.min[i]);
      }
    } else {
      // dot(q, min + c step) = dot(q, min) + dot(q * step, c)
      for (size_t i = 0; i < dims_; ++i) {
        a_[i] = query[i] * sq8.step[i];
        constant_ += query[i] * sq8.min[i];
      }
    }
  }
  float To(uint32_t row) const override {
    const uint8_t* c = sq8_.codes.data() + size_t{row} * dims_;
    if (metric_ == Metric::kEuclidean)
      return constant_ + k_.sq8_weighted_l2(a_.data(), w_.data(), c, dims_);
    const float dot = constant_ + k_.sq8_dot(a_.data(), c, dims_);
    return metric_ == Metric::kCosine ? 1.0f - dot : -dot;
  }
  void Prefetch(uint32_t row) const override {
    PrefetchLines(sq8_.codes.data() + size_t{row} * dims_, dims_);
  }

 private:
  const Sq8 sq8_;
  const size_t dims_;
  const Metric metric_;
  const kernels::KernelSet& k_;
  std::vector<float> a_, w_;
  float constant_ = 0;
};

// Per-dimension ranges and codes of the (normalised, for COSINE) rows.
void TrainSq8(const VectorSet& v, std::span<const float> inverse_norms, std::vector<float>* min,
              std::vector<float>* step, std::vector<uint8_t>* codes) {
  const size_t d = v.dims;
  auto value = [&](size_t row, size_t i) {
    const float x = v.floats[row * d + i];
    return v.metric == Metric::kCosine ? x * inverse_norms[row] : x;
  };
  min->assign(d, INFINITY);
  std::vector<float> max(d, -INFINITY);
  for (size_t r = 0; r < v.rows; ++r) {
    for (size_t i = 0; i < d; ++i) {
      (*min)[i] = std::min((*min)[i], value(r, i));
      max[i] = std::max(max[i], value(r, i));
    }
  }
  step->resize(d);
  for (size_t i = 0; i < d; ++i) {
    if (v.rows == 0) (*min)[i] = max[i] = 0;
    (*step)[i] = (max[i] - (*min)[i]) / 255.0f;
  }
  codes->resize(v.rows * d);
  for (size_t r = 0; r < v.rows; ++r) {
    for (size_t i = 0; i < d; ++i) {
      const float s = (*step)[i];
      const float c = s > 0 ? std::round((value(r, i) - (*min)[i]) / s) : 0.0f;
      (*codes)[r * d + i] = static_cast<uint8_t>(std::clamp(c, 0.0f, 255.0f));
    }
  }
}

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

size_t AllowedRows(const IndexQuery& p, size_t rows) {
  if (p.allowed.empty()) return rows;
  if (p.allowed_count != 0) return p.allowed_count;
  return p.allowed.size() - std::count(p.allowed.begin(), p.allowed.end(), 0);
}

bool PreferExactScan(size_t allowed, size_t rows, size_t ef) {
  constexpr double kWalkCost = 8;  // distances per expanded node, roughly
  return double(allowed) * double(allowed) <= kWalkCost * double(ef) * double(rows);
}

std::vector<ScoredRow> ExactScan(const VectorSet& vectors, const QueryVector& query,
                                 const IndexQuery& params) {
  auto scan = [&](const QueryDistance& distance) {
    TopK top(params.k, params.tie);
    auto consider = [&](uint32_t row) {
      const float d = distance.To(row);
      if (top.MayAdmit(d)) top.Push(d, row);
    };
    const std::span<const uint8_t> allowed = params.allowed;
    if (allowed.empty()) {
      for (uint32_t row = 0; row < vectors.rows; ++row) consider(row);
    } else {
      // The allowed rows first (eight flags at a time: a selective filter
      // leaves most words zero), then measured with the next rows' vectors
      // prefetched, since they lie scattered over the segment.
      std::vector<uint32_t> rows;
      uint32_t row = 0;
      for (; row + 8 <= vectors.rows; row += 8) {
        uint64_t word;
        std::memcpy(&word, allowed.data() + row, 8);
        if (word == 0) continue;
        for (uint32_t i = 0; i < 8; ++i) {
          if (allowed[row + i]) rows.push_back(row + i);
        }
      }
      for (; row < vectors.rows; ++row) {
        if (allowed[row]) rows.push_back(row);
      }
      constexpr size_t kAhead = 4;
      for (size_t i = 0; i < std::min(kAhead, rows.size()); ++i) distance.Prefetch(rows[i]);
      for (size_t i = 0; i < rows.size(); ++i) {
        if (i + kAhead < rows.size()) distance.Prefetch(rows[i + kAhead]);
        consider(rows[i]);
      }
    }
    return top.Take();
  };
  if (vectors.bits != nullptr) return scan(BinaryQuery(vectors, query.bits));
  return scan(FloatQuery(vectors, query.floats, {}));
}

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
