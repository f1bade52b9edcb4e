#include "core/config.hpp"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/toml_names.hpp"

extern char** environ;

namespace outboard::core {
namespace {

std::string at(std::string const& source, toml::node const& node, std::string const& key) {
  return source + ":" + std::to_string(node.source().begin.line) + ": key '" + key + "'";
}

std::vector<std::string> split_commas(std::string const& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

Settings::Entry& Settings::add(Entry entry) {
  entries_.push_back(std::move(entry));
  return entries_.back();
}

void Settings::add_string(std::string key, std::string& target, std::string flag, std::string help,
                          StringCheck check) {
  add({std::move(key), Kind::string, &target, 0, 0, std::move(flag), std::move(help), std::move(check), {}});
}

void Settings::add_int(std::string key, std::int64_t& target, std::int64_t min, std::int64_t max,
                       std::string flag, std::string help) {
  add({std::move(key), Kind::integer, &target, min, max, std::move(flag), std::move(help), {}, {}});
}

void Settings::add_bool(std::string key, bool& target, std::string flag, std::string help) {
  add({std::move(key), Kind::boolean, &target, 0, 0, std::move(flag), std::move(help), {}, {}});
}

void Settings::add_list(std::string key, std::vector<std::string>& target, std::string flag,
                        std::string help, StringCheck check_each) {
  add({std::move(key), Kind::list, &target, 0, 0, std::move(flag), std::move(help), std::move(check_each), {}});
}

Settings::Entry* Settings::find(std::string const& key) {
  for (auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::string Settings::env_name(std::string const& key) {
  std::string out = "OUTBOARD_";
  for (char c : key) out += c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::map<std::string, std::string> Settings::process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.starts_with("OUTBOARD_")) {
      out.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  return out;
}

void Settings::register_flags(CLI::App& app) {
  app.add_option("--config", config_file_, "TOML config file (then OUTBOARD_* env, then flags)");
  raw_flags_.reserve(entries_.size());
  for (auto& e : entries_) {
    if (e.flag.empty()) continue;
    std::string help = e.help + " [" + e.key + ", " + env_name(e.key) + "]";
    Entry* entry = &e;
    if (e.kind == Kind::list) {
      // A list flag may be repeated (--backend a --backend b) or comma-separated.
      app.add_option_function<std::vector<std::string>>(
             e.flag,
             [entry](std::vector<std::string> const& values) {
               std::string joined;
               for (auto const& v : values) joined += (joined.empty() ? "" : ",") + v;
               entry->flag_value = joined;
             },
             help)
          ->type_name("TEXT")
          ->allow_extra_args(false);
      continue;
    }
    auto* option = app.add_option_function<std::string>(
        e.flag, [entry](std::string const& v) { entry->flag_value = v; }, help);
    option->type_name(e.kind == Kind::integer ? "INT" : e.kind == Kind::boolean ? "[BOOL]" : "TEXT");
    // A boolean flag works as a plain switch (--access-log) or with a value (--access-log false).
    if (e.kind == Kind::boolean) option->expected(0, 1)->default_str("true");
  }
}

void Settings::reload_into(Settings& fresh) const {
  fresh.config_file_ = config_file_;
  for (auto const& e : entries_) {
    if (Entry* other = fresh.find(e.key)) other->flag_value = e.flag_value;
  }
}

void Settings::resolve(std::map<std::string, std::string> const& environment) {
  if (!config_file_.empty()) load_toml_file(config_file_);
  load_environment(environment);
  for (auto& e : entries_) {
    if (e.flag_value) assign_text(e, *e.flag_value, "flag " + e.flag);
  }
}

void Settings::check_string(Entry& entry, std::string const& value, std::string const& where) {
  if (!entry.check) return;
  if (auto why = entry.check(value)) throw ConfigError(where + ": " + *why);
}

void Settings::assign_text(Entry& entry, std::string const& text, std::string const& where) {
  switch (entry.kind) {
    case Kind::string:
      check_string(entry, text, where);
      *std::get<std::string*>(entry.target) = text;
      return;
    case Kind::integer: {
      std::int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
        throw ConfigError(where + ": '" + text + "' is not an integer");
      }
      if (v < entry.min || v > entry.max) {
        throw ConfigError(where + ": " + text + " is out of range " + std::to_string(entry.min) +
                          ".." + std::to_string(entry.max));
      }
      *std::get<std::int64_t*>(entry.target) = v;
      return;
    }
    case Kind::boolean:
      if (text == "true" || text == "1" || text == "yes") {
        *std::get<bool*>(entry.target) = true;
      } else if (text == "false" || text == "0" || text == "no") {
        *std::get<bool*>(entry.target) = false;
      } else {
        throw ConfigError(where + ": '" + text + "' is not a boolean (true or false)");
      }
      return;
    case Kind::list: {
      auto items = split_commas(text);
      for (auto const& item : items) check_string(entry, item, where);
      *std::get<std::vector<std::string>*>(entry.target) = std::move(items);
      return;
    }
  }
}

void Settings::load_environment(std::map<std::string, std::string> const& environment) {
  std::map<std::string, Entry*> by_env;
  for (auto& e : entries_) by_env[env_name(e.key)] = &e;
  for (auto const& [name, value] : environment) {
    if (!name.starts_with("OUTBOARD_")) continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      // A misspelt variable would otherwise be a silent default.
      throw ConfigError("environment " + name + ": unknown setting for this command");
    }
    assign_text(*it->second, value, "environment " + name);
  }
}

void Settings::load_toml_file(std::string const& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open the config file");
  std::stringstream text;
  text << in.rdbuf();
  load_toml_text(text.str(), path);
}

void Settings::load_toml_text(std::string const& text, std::string const& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (toml::parse_error const& err) {
    throw ConfigError(source_name + ":" + std::to_string(err.source().begin.line) + ": " +
                      std::string(err.description()));
  }

  // Walk every key in the file, so that an unknown one is an error and not ignored.
  std::function<void(toml::table const&, std::string const&)> walk =
      [&](toml::table const& table, std::string const& prefix) {
        for (auto const& [k, node] : table) {
          std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
          Entry* entry = find(key);
          if (!entry) {
            if (auto const* sub = node.as_table()) {
              bool known_prefix = std::any_of(entries_.begin(), entries_.end(), [&](Entry const& e) {
                return e.key.starts_with(key + ".");
              });
              if (known_prefix) {
                walk(*sub, key);
                continue;
              }
            }
            throw ConfigError(at(source_name, node, key) + ": unknown key");
          }
          std::string where = at(source_name, node, key);
          switch (entry->kind) {
            case Kind::string:
              if (!node.is_string()) throw ConfigError(where + ": expected a string, got " + toml_type_name(node));
              assign_text(*entry, *node.value<std::string>(), where);
              break;
            case Kind::integer:
              if (!node.is_integer()) throw ConfigError(where + ": expected an integer, got " + toml_type_name(node));
              assign_text(*entry, std::to_string(*node.value<std::int64_t>()), where);
              break;
            case Kind::boolean:
              if (!node.is_boolean()) throw ConfigError(where + ": expected a boolean, got " + toml_type_name(node));
              *std::get<bool*>(entry->target) = *node.value<bool>();
              break;
            case Kind::list: {
              auto const* arr = node.as_array();
              if (!arr) throw ConfigError(where + ": expected an array of strings, got " + toml_type_name(node));
              std::vector<std::string> items;
              for (auto const& item : *arr) {
                if (!item.is_string()) {
                  throw ConfigError(where + ": expected an array of strings, found " + toml_type_name(item));
                }
                items.push_back(*item.value<std::string>());
                check_string(*entry, items.back(), where);
              }
              *std::get<std::vector<std::string>*>(entry->target) = std::move(items);
              break;
            }
          }
        }
      };
  walk(root, "");
}

std::string toml_type_name(toml::node const& node) {
  switch (node.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

}  // namespace outboard::core
