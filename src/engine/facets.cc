#include "engine/facets.h"

#include <algorithm>
#include <cctype>

#include "common/text.h"

namespace quiver {
namespace {

Value Plus(const Value& a, const Value& b) {
  if (IsNull(a)) return b;
  if (IsNull(b)) return a;
  if (const auto* x = std::get_if<int64_t>(&a)) {
    return static_cast<int64_t>(static_cast<uint64_t>(*x) +
                                static_cast<uint64_t>(std::get<int64_t>(b)));
  }
  return std::get<double>(a) + std::get<double>(b);
}

}  // namespace

Result<Facet> Facet::Parse(const FacetRequest& request, const TableSchema& schema,
                           FilterScope scope) {
  if (request.aggregate.empty())
    return Status::InvalidArgument("a facet needs at least one aggregate");
  Facet facet;
  for (const std::string& text : request.group) {
    auto key = Expression::Parse(text, schema, scope);
    if (!key.ok()) return key.status().WithContext("facet group " + Quoted(text));
    facet.keys_.push_back(std::move(key).value());
    facet.names_.push_back(text);
  }
  for (const std::string& text : request.aggregate) {
    const std::string_view spec = TrimSpaces(text);
    const auto open = spec.find('(');
    if (open == std::string_view::npos || spec.back() != ')') {
      return Status::InvalidArgument("aggregate " + Quoted(text) +
                                     " must look like COUNT(*), SUM(x), MIN(x) or MAX(x)");
    }
    const std::string function = AsciiUpper(TrimSpaces(spec.substr(0, open)));
    const std::string argument(TrimSpaces(spec.substr(open + 1, spec.size() - open - 2)));
    Aggregate aggregate;
    if (function == "COUNT" && argument == "*") {
      aggregate.kind = Kind::kCountRows;
    } else {
      if (function == "COUNT") {
        aggregate.kind = Kind::kCount;
      } else if (function == "SUM") {
        aggregate.kind = Kind::kSum;
      } else if (function == "MIN") {
        aggregate.kind = Kind::kMin;
      } else if (function == "MAX") {
        aggregate.kind = Kind::kMax;
      } else {
        return Status::InvalidArgument("aggregate " + Quoted(text) + ": unknown function " +
                                       Quoted(function) + " (COUNT, SUM, MIN, MAX)");
      }
      auto parsed = Expression::Parse(argument, schema, scope);
      if (!parsed.ok()) return parsed.status().WithContext("aggregate " + Quoted(text));
      const ExprType type = parsed->type();
      if (aggregate.kind == Kind::kSum && type != ExprType::kInt && type != ExprType::kDouble) {
        return Status::InvalidArgument("aggregate " + Quoted(text) + ": SUM needs a number");
      }
      if ((aggregate.kind == Kind::kMin || aggregate.kind == Kind::kMax) &&
          type == ExprType::kBool) {
        return Status::InvalidArgument("aggregate " + Quoted(text) +
                                       ": MIN and MAX need numbers or strings");
      }
      aggregate.argument = std::move(parsed).value();
    }
    facet.aggregates_.push_back(std::move(aggregate));
    facet.names_.push_back(text);
  }
  return facet;
}

size_t Facet::GroupOf(std::vector<Value> key, uint64_t order) {
  auto [it, inserted] = group_index_.try_emplace(key, group_keys_.size());
  if (inserted) {
    group_keys_.push_back(std::move(key));
    states_.emplace_back(aggregates_.size());
    first_.push_back(order);
  } else {
    first_[it->second] = std::min(first_[it->second], order);
  }
  return it->second;
}

void Facet::MergeStates(const std::vector<State>& more, std::vector<State>* into) const {
  for (size_t a = 0; a < aggregates_.size(); ++a) {
    State& state = (*into)[a];
    state.count += more[a].count;
    const Value& value = more[a].value;
    if (IsNull(value)) continue;
    switch (aggregates_[a].kind) {
      case Kind::kSum:
        state.value = Plus(state.value, value);
        break;
      case Kind::kMin:
        if (IsNull(state.value) || value < state.value) state.value = value;
        break;
      case Kind::kMax:
        if (IsNull(state.value) || state.value < value) state.value = value;
        break;
      case Kind::kCountRows:
      case Kind::kCount:
        break;
    }
  }
}

void Facet::Merge(const Facet& other) {
  for (size_t g = 0; g < other.group_keys_.size(); ++g) {
    const size_t group = GroupOf(other.group_keys_[g], other.first_[g]);
    MergeStates(other.states_[g], &states_[group]);
  }
}

Facet::Partial Facet::Export() const {
  Partial out;
  out.groups.reserve(group_keys_.size());
  for (size_t g = 0; g < group_keys_.size(); ++g) {
    Partial::Group group{group_keys_[g], first_[g], {}, {}};
    for (const State& state : states_[g]) {
      group.counts.push_back(state.count);
      group.values.push_back(state.value);
    }
    out.groups.push_back(std::move(group));
  }
  return out;
}

Status Facet::MergePartial(const Partial& partial) {
  for (const Partial::Group& group : partial.groups) {
    if (group.key.size() != keys_.size() || group.counts.size() != aggregates_.size() ||
        group.values.size() != aggregates_.size()) {
      return Status::InvalidArgument("a partial facet state of another shape");
    }
  }
  for (const Partial::Group& group : partial.groups) {
    std::vector<State> more;
    for (size_t a = 0; a < aggregates_.size(); ++a)
      more.push_back({group.counts[a], group.values[a]});
    const size_t g = GroupOf(group.key, group.first);
    MergeStates(more, &states_[g]);
  }
  return Status::OK();
}

void Facet::Add(const RowView& row, uint64_t order) {
  std::vector<Value> key;
  key.reserve(keys_.size());
  for (const Expression& k : keys_) key.push_back(k.Evaluate(row));
  std::vector<State>& states = states_[GroupOf(std::move(key), order)];
  for (size_t a = 0; a < aggregates_.size(); ++a) {
    const Aggregate& aggregate = aggregates_[a];
    State& state = states[a];
    if (aggregate.kind == Kind::kCountRows) {
      ++state.count;
      continue;
    }
    Value v = aggregate.argument->Evaluate(row);
    if (IsNull(v)) continue;
    switch (aggregate.kind) {
      case Kind::kCount:
        ++state.count;
        break;
      case Kind::kSum:
        state.value = Plus(state.value, v);
        break;
      case Kind::kMin:
        if (IsNull(state.value) || v < state.value) state.value = std::move(v);
        break;
      case Kind::kMax:
        if (IsNull(state.value) || state.value < v) state.value = std::move(v);
        break;
      case Kind::kCountRows:
        break;
    }
  }
}

FacetResult Facet::Finish() const {
  FacetResult result{names_, {}};
  std::vector<size_t> groups(group_keys_.size());
  for (size_t g = 0; g < groups.size(); ++g) groups[g] = g;
  std::stable_sort(groups.begin(), groups.end(),
                   [&](size_t a, size_t b) { return first_[a] < first_[b]; });
  for (size_t g : groups) {
    std::vector<Value> row = group_keys_[g];
    for (size_t a = 0; a < aggregates_.size(); ++a) {
      const Kind kind = aggregates_[a].kind;
      if (kind == Kind::kCountRows || kind == Kind::kCount) {
        row.emplace_back(states_[g][a].count);
      } else {
        row.push_back(states_[g][a].value);
      }
    }
    result.rows.push_back(std::move(row));
  }
  // Without group keys there is one group even when no row matched.
  if (keys_.empty() && result.rows.empty()) {
    std::vector<Value> row;
    for (const Aggregate& a : aggregates_) {
      row.push_back(a.kind == Kind::kCountRows || a.kind == Kind::kCount ? Value(int64_t{0})
                                                                         : Value());
    }
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace quiver
