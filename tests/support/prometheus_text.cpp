#include "support/prometheus_text.hpp"

#include <cctype>
#include <cstdlib>
#include <optional>
#include <set>
#include <sstream>

namespace outboard::testing {
namespace {

bool name_char(char c, bool first, bool colon_ok) {
  bool alpha = std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon_ok && c == ':');
  return first ? alpha : alpha || std::isdigit(static_cast<unsigned char>(c));
}

bool valid_name(std::string const& name, bool colon_ok) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, colon_ok)) return false;
  }
  return true;
}

bool valid_value(std::string const& text) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") return true;
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string series;  // name{...} as written
  std::string value;
};

// Parses "name{a="x",b="y"} value [timestamp]"; nullopt with `why` set when malformed.
std::optional<Sample> parse_sample(std::string const& line, std::string& why) {
  Sample s;
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  s.name = line.substr(0, i);
  if (!valid_name(s.name, true)) {
    why = "invalid metric name '" + s.name + "'";
    return std::nullopt;
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      std::size_t eq = line.find('=', i);
      if (eq == std::string::npos) {
        why = "label without '='";
        return std::nullopt;
      }
      std::string label = line.substr(i, eq - i);
      if (!valid_name(label, false)) {
        why = "invalid label name '" + label + "'";
        return std::nullopt;
      }
      if (eq + 1 >= line.size() || line[eq + 1] != '"') {
        why = "label value of '" + label + "' not quoted";
        return std::nullopt;
      }
      std::string value;
      std::size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\') {
          if (j + 1 >= line.size() || (line[j + 1] != '\\' && line[j + 1] != '"' && line[j + 1] != 'n')) {
            why = "bad escape in the value of '" + label + "'";
            return std::nullopt;
          }
          ++j;
        }
        value += line[j];
      }
      if (j >= line.size()) {
        why = "unterminated value of '" + label + "'";
        return std::nullopt;
      }
      s.labels.emplace_back(label, value);
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) {
      why = "unterminated label set";
      return std::nullopt;
    }
    ++i;  // '}'
  }
  s.series = line.substr(0, i);
  if (i >= line.size() || line[i] != ' ') {
    why = "no value";
    return std::nullopt;
  }
  std::istringstream rest(line.substr(i + 1));
  std::string timestamp, extra;
  rest >> s.value >> timestamp >> extra;
  if (!valid_value(s.value)) {
    why = "invalid value '" + s.value + "'";
    return std::nullopt;
  }
  if (!extra.empty()) {
    why = "trailing text after the timestamp";
    return std::nullopt;
  }
  return s;
}

// The family a sample belongs to, given the families declared so far.
std::string family_of(std::string const& sample_name, std::map<std::string, std::string> const& types) {
  for (char const* suffix : {"_bucket", "_sum", "_count"}) {
    std::string sfx(suffix);
    if (sample_name.size() > sfx.size() && sample_name.ends_with(sfx)) {
      std::string base = sample_name.substr(0, sample_name.size() - sfx.size());
      auto t = types.find(base);
      if (t != types.end() && (t->second == "histogram" || t->second == "summary")) return base;
    }
  }
  return sample_name;
}

std::set<std::string> label_names(Sample const& s) {
  std::set<std::string> out;
  for (auto const& [k, v] : s.labels) {
    if (k != "le" && k != "quantile") out.insert(k);
  }
  return out;
}

}  // namespace

std::vector<std::string> prometheus_text_problems(std::string const& text) {
  std::vector<std::string> problems;
  std::map<std::string, std::string> types;   // family -> type
  std::set<std::string> helped;
  std::set<std::string> finished;             // families whose lines have ended
  std::map<std::string, std::set<std::string>> labels_of;
  std::set<std::string> series_seen;
  std::string current;
  std::istringstream in(text);
  int number = 0;
  auto problem = [&](std::string what) { problems.push_back("line " + std::to_string(number) + ": " + what); };
  auto enter = [&](std::string const& family) {
    if (family == current) return;
    if (!current.empty()) finished.insert(current);
    if (finished.contains(family)) problem("the lines of family '" + family + "' are not contiguous");
    current = family;
  };
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, rest;
      words >> name;
      std::getline(words, rest);
      if (!valid_name(name, true)) problem("invalid metric name '" + name + "'");
      enter(name);
      if (line[2] == 'H') {
        if (!helped.insert(name).second) problem("second HELP for '" + name + "'");
        continue;
      }
      std::string type = rest.empty() ? "" : rest.substr(1);
      if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
        problem("unknown type '" + type + "' for '" + name + "'");
      }
      if (types.contains(name)) problem("second TYPE for '" + name + "'");
      if (labels_of.contains(name)) problem("TYPE for '" + name + "' after its samples");
      types[name] = type;
      continue;
    }
    if (line.starts_with("#")) continue;
    std::string why;
    auto sample = parse_sample(line, why);
    if (!sample) {
      problem(why + ": " + line);
      continue;
    }
    std::string family = family_of(sample->name, types);
    enter(family);
    if (!types.contains(family)) problem("sample of '" + family + "' without a TYPE line");
    if (!helped.contains(family)) problem("sample of '" + family + "' without a HELP line");
    auto type = types.contains(family) ? types[family] : "";
    bool has_le = false;
    for (auto const& [k, v] : sample->labels) has_le = has_le || k == "le";
    if (type == "histogram") {
      if (sample->name == family + "_bucket" && !has_le) problem("histogram bucket without 'le': " + line);
      if (sample->name == family) problem("histogram sample named as its family: " + line);
    } else if (type != "summary" && sample->name != family) {
      problem("sample '" + sample->name + "' is not named as its family");
    }
    if (!series_seen.insert(sample->series).second) problem("series twice: " + sample->series);
    auto names = label_names(*sample);
    auto [it, fresh] = labels_of.emplace(family, names);
    if (!fresh && it->second != names) problem("label names differ between series of '" + family + "': " + line);
  }
  return problems;
}

std::map<std::string, double> prometheus_samples(std::string const& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("#")) continue;
    std::string why;
    if (auto s = parse_sample(line, why)) out[s->series] = std::strtod(s->value.c_str(), nullptr);
  }
  return out;
}

}  // namespace outboard::testing
