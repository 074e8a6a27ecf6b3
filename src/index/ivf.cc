#include "index/ivf.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace quiver::index {
namespace {

// Reads a serialised index straight from the mapping (no copy of the blob).
struct ViewReader : faiss::IOReader {
  std::string_view data;
  size_t at = 0;
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0) return 0;
    const size_t n = std::min(nitems, (data.size() - at) / size);
    if (n == 0) return 0;  // Faiss reads empty arrays into null pointers
    std::memcpy(ptr, data.data() + at, n * size);
    at += n * size;
    return n;
  }
};

struct AllowedSelector : faiss::IDSelector {
  std::span<const uint8_t> allowed;
  bool is_member(idx_t id) const override {
    return id >= 0 && static_cast<size_t>(id) < allowed.size() && allowed[id] != 0;
  }
};

std::vector<float> Normalised(const VectorSet& v) {
  std::vector<float> out(v.floats, v.floats + v.rows * v.dims);
  for (size_t r = 0; r < v.rows; ++r) {
    float* x = out.data() + r * v.dims;
    double norm = 0;
    for (size_t i = 0; i < v.dims; ++i) norm += double(x[i]) * x[i];
    if (norm > 0) {
      const float inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (size_t i = 0; i < v.dims; ++i) x[i] *= inv;
    }
  }
  return out;
}

class IvfIndex final : public VectorIndex {
 public:
  IvfIndex(std::unique_ptr<faiss::IndexIVFFlat> index, const VectorSet& vectors,
           std::shared_ptr<const MappedFile> file)
      : index_(std::move(index)), vectors_(vectors), file_(std::move(file)) {
    for (size_t l = 0; l < index_->nlist; ++l) bytes_ += index_->invlists->list_size(l);
    bytes_ = bytes_ * (vectors.dims * sizeof(float) + sizeof(faiss::Index::idx_t)) +
             file_->data().size();
  }

  IndexType type() const override { return IndexType::kIvfFlat; }
  size_t rows() const override { return vectors_.rows; }
  size_t bytes() const override { return bytes_; }

  std::vector<ScoredRow> Search(const QueryVector& query, const IndexQuery& p) const override {
    if (!p.allowed.empty()) {
      // A probe of a few lists finds few rows that pass a selective filter;
      // scanning them all costs about as much as probing a few lists.
      const size_t allowed = AllowedRows(p, vectors_.rows);
      const size_t per_list = vectors_.rows / std::max<size_t>(1, index_->nlist);
      if (allowed <= 4 * std::max<size_t>(1, p.nprobe) * std::max<size_t>(1, per_list))
        return ExactScan(vectors_, query, p);
    }
    std::vector<float> q(query.floats, query.floats + vectors_.dims);
    if (vectors_.metric == Metric::kCosine) q = Normalised({q.data(), nullptr, 1, vectors_.dims});
    AllowedSelector selector;
    selector.allowed = p.allowed;
    faiss::SearchParametersIVF params;
    params.nprobe = std::max<size_t>(1, p.nprobe);
    if (!p.allowed.empty()) params.sel = &selector;
    const size_t k = std::min(p.k, vectors_.rows);
    std::vector<float> distances(k);
    std::vector<faiss::Index::idx_t> labels(k);
    index_->search(1, q.data(), static_cast<faiss::Index::idx_t>(k), distances.data(),
                   labels.data(), &params);
    std::vector<ScoredRow> out;
    for (size_t i = 0; i < k; ++i) {
      if (labels[i] < 0) break;
      float d = distances[i];  // Faiss: squared L2, or the inner product
      if (vectors_.metric == Metric::kDotProduct) d = -d;
      if (vectors_.metric == Metric::kCosine) d = 1.0f - d;
      out.push_back({d, static_cast<uint32_t>(labels[i])});
    }
    return out;
  }

 private:
  std::unique_ptr<faiss::IndexIVFFlat> index_;
  const VectorSet vectors_;
  std::shared_ptr<const MappedFile> file_;
  size_t bytes_ = 0;
};

}  // namespace

Result<std::string> BuildIvfFlat(const VectorSet& vectors, const IndexSpec& spec) {
  const size_t n = vectors.rows;
  // Faiss wants about 39 training points per list.
  size_t nlist =
      spec.nlist != 0 ? spec.nlist : static_cast<size_t>(4 * std::sqrt(static_cast<double>(n)));
  nlist = std::clamp<size_t>(nlist, 1, std::max<size_t>(1, n / 39));
  const bool l2 = vectors.metric == Metric::kEuclidean;
  std::vector<float> normalised;
  const float* data = vectors.floats;
  if (vectors.metric == Metric::kCosine) {
    normalised = Normalised(vectors);
    data = normalised.data();
  }
  try {
    const auto metric = l2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
    auto quantizer = std::make_unique<faiss::IndexFlat>(vectors.dims, metric);
    faiss::IndexIVFFlat ivf(quantizer.get(), vectors.dims, nlist, metric);
    ivf.cp.seed = 42;
    // Train on at most 64 rows per list, drawn with a fixed seed.
    const size_t train_rows = std::min(n, 64 * nlist);
    std::vector<float> train(train_rows * vectors.dims);
    std::mt19937_64 rng(42);
    std::vector<size_t> pick(n);
    for (size_t i = 0; i < n; ++i) pick[i] = i;
    std::shuffle(pick.begin(), pick.end(), rng);
    for (size_t i = 0; i < train_rows; ++i)
      std::memcpy(&train[i * vectors.dims], data + pick[i] * vectors.dims,
                  vectors.dims * sizeof(float));
    if (n > 0) {
      ivf.train(static_cast<faiss::Index::idx_t>(train_rows), train.data());
      ivf.add(static_cast<faiss::Index::idx_t>(n), data);
    }
    faiss::VectorIOWriter writer;
    faiss::write_index(&ivf, &writer);
    return std::string(writer.data.begin(), writer.data.end());
  } catch (const faiss::FaissException& e) {
    return Status::Internal(std::string("IVF_FLAT build: ") + e.what());
  }
}

Result<std::unique_ptr<VectorIndex>> OpenIvfFlat(std::string_view blob, const VectorSet& vectors,
                                                 std::shared_ptr<const MappedFile> keep_alive) {
  ViewReader reader;
  reader.data = blob;
  try {
    std::unique_ptr<faiss::Index> loaded(faiss::read_index(&reader));
    auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(loaded.get());
    if (ivf == nullptr || ivf->ntotal != static_cast<faiss::Index::idx_t>(vectors.rows) ||
        ivf->d != static_cast<int>(vectors.dims)) {
      return Status::Corruption("the Faiss index does not match the segment");
    }
    std::unique_ptr<faiss::IndexIVFFlat> owned(static_cast<faiss::IndexIVFFlat*>(loaded.release()));
    owned->own_fields = true;  // the quantizer goes with the index
    return std::unique_ptr<VectorIndex>(
        std::make_unique<IvfIndex>(std::move(owned), vectors, std::move(keep_alive)));
  } catch (const faiss::FaissException& e) {
    return Status::Corruption(std::string("the Faiss index does not load: ") + e.what());
  }
}

}  // namespace quiver::index
