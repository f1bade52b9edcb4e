#include "core/config.hpp"

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "core/toml_names.hpp"

extern char** environ;

namespace outboard::core {
namespace {

// The binary's commands. A variable of another command (OUTBOARD_GATEWAY_* while serve runs) is
// left to it, so one env file can configure them all.
constexpr char const* kCommands[] = {"serve", "gateway", "lab"};

std::string at(std::string const& source, toml::node const& node) {
  return source + ":" + std::to_string(node.source().begin.line);
}

std::string upper_underscored(std::string const& text) {
  std::string out;
  for (char c : text) {
    out += c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
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

std::string join_commas(std::vector<std::string> const& items) {
  std::string out;
  for (auto const& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// Edits (insert, delete, substitute, swap two neighbours) from a to b; O(|a|*|b|).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      bool swapped = i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1];
      if (swapped) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The candidate a misspelling most likely meant: the nearest within a third of its length (at
// least 2 edits), else nothing.
std::optional<std::string> closest(std::string const& wanted, std::vector<std::string> const& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, wanted.size() / 3) + 1;
  for (auto const& c : candidates) {
    std::size_t d = edit_distance(wanted, c);
    if (d < best_distance && d < wanted.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

// A TOML basic string: quoted, with backslash, quote and control characters escaped.
std::string toml_quoted(std::string const& text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A URL's password (redis://:PASSWORD@host:6379/0) is a secret inside a setting that is not one:
// shown as redis://:<hidden>@host:6379/0.
std::string without_password(std::string const& text) {
  auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  auto authority = scheme_end + 3;
  auto at_sign = text.find('@', authority);
  if (at_sign == std::string::npos || text.find('/', authority) < at_sign) return text;
  auto colon = text.find(':', authority);
  if (colon > at_sign) return text;
  return text.substr(0, colon + 1) + "<hidden>" + text.substr(at_sign);
}

// Whether a flag's text carries a URL password, in the authority (redis://:PW@host) or as a
// libpq-style parameter (postgres://host/db?password=PW); a list's items each.
bool carries_password(std::string const& text) {
  for (auto const& item : split_commas(text)) {
    if (without_password(item) != item) return true;
    auto query = item.find('?');
    if (query != std::string::npos && item.find("password=", query) != std::string::npos) return true;
  }
  return false;
}

// "receipt=4,tick=1" -> {receipt: 4, tick: 1}; the error names `where`.
std::map<std::string, std::string> split_pairs(std::string const& text, std::string const& where) {
  std::map<std::string, std::string> out;
  for (auto const& item : split_commas(text)) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError(where + ": '" + item + "' is not NAME=VALUE");
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::int64_t checked_int(std::string const& text, std::int64_t min, std::int64_t max, std::string const& shown,
                         std::string const& where) {
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
    throw ConfigError(where + ": " + shown + " is not an integer");
  }
  if (v < min || v > max) {
    throw ConfigError(where + ": " + text + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

// The tables of an array of tables, each key one of `fields` and each value a string.
std::vector<TableItem> read_table_list(std::vector<std::string> const& fields, toml::node const& node,
                                       std::string const& key, std::string const& source_name) {
  std::string where = at(source_name, node) + ": key '" + key + "'";
  auto const* arr = node.as_array();
  if (!arr || !arr->is_array_of_tables()) {
    throw ConfigError(where + ": expected an array of tables ([[" + key + "]]), got " + toml_type_name(node));
  }
  std::vector<TableItem> items;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto const& table = *arr->get(i)->as_table();
    std::string item_key = key + "[" + std::to_string(i) + "]";
    TableItem item;
    item.where = at(source_name, table) + ": key '" + item_key + "'";
    for (auto const& [name, value] : table) {
      std::string field(name.str());
      std::string value_where = at(source_name, value) + ": key '" + item_key + "." + field + "'";
      if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
        auto near = closest(field, fields);
        throw ConfigError(value_where + ": unknown key" + (near ? "; did you mean '" + *near + "'?" : std::string()));
      }
      if (!value.is_string()) throw ConfigError(value_where + ": expected a string, got " + toml_type_name(value));
      item.values[field] = {*value.value<std::string>(), value_where};
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

Settings::Settings(std::string command) : command_(std::move(command)) {}

Settings::Entry& Settings::add(std::string key, Kind kind, decltype(Entry::target) target, std::string flag,
                               std::string help, StringCheck check) {
  Entry& e = entries_.emplace_back();
  e.key = std::move(key);
  e.kind = kind;
  e.target = target;
  e.flag = std::move(flag);
  e.help = std::move(help);
  e.check = std::move(check);
  return e;
}

void Settings::add_string(std::string key, std::string& target, std::string flag, std::string help,
                          StringCheck check) {
  add(std::move(key), Kind::string, &target, std::move(flag), std::move(help), std::move(check));
}

void Settings::add_int(std::string key, std::int64_t& target, std::int64_t min, std::int64_t max,
                       std::string flag, std::string help) {
  Entry& e = add(std::move(key), Kind::integer, &target, std::move(flag), std::move(help));
  e.min = min;
  e.max = max;
}

void Settings::add_bool(std::string key, bool& target, std::string flag, std::string help) {
  add(std::move(key), Kind::boolean, &target, std::move(flag), std::move(help));
}

void Settings::add_list(std::string key, std::vector<std::string>& target, std::string flag,
                        std::string help, StringCheck check_each) {
  add(std::move(key), Kind::list, &target, std::move(flag), std::move(help), std::move(check_each));
}

void Settings::add_int_map(std::string key, std::map<std::string, std::int64_t>& target, std::int64_t min,
                           std::int64_t max, std::string flag, std::string help, StringCheck check_name) {
  Entry& e = add(std::move(key), Kind::int_map, &target, std::move(flag), std::move(help), std::move(check_name));
  e.min = min;
  e.max = max;
}

void Settings::add_table_list(std::string key, std::vector<TableItem>& target, std::vector<std::string> fields,
                              std::string help) {
  Entry& e = add(std::move(key), Kind::table_list, &target, "", std::move(help));
  e.fields = std::move(fields);
}

void Settings::mark_secret(std::string const& key) {
  Entry* e = find(key);
  if (!e) throw std::logic_error("mark_secret: no setting '" + key + "' was declared");
  e->secret = true;
}

Settings::Entry* Settings::find(std::string const& key) {
  for (auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::string Settings::env_name(std::string const& key) { return "OUTBOARD_" + upper_underscored(key); }

std::string Settings::env_prefix() const {
  return command_.empty() ? "OUTBOARD_" : "OUTBOARD_" + upper_underscored(command_) + "_";
}

std::string Settings::env_variable(std::string const& key) const { return env_prefix() + upper_underscored(key); }

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
  app.add_option("--config", config_file_,
                 "TOML config file (then " + env_prefix() + "* environment variables, then flags)");
  app.add_flag("--check", check_,
               "validate the configuration (file, environment, flags), print the effective settings and where "
               "each came from, and exit: 0 when valid, 2 when not; binds nothing");
  for (auto& e : entries_) {
    if (e.flag.empty()) continue;
    std::string help = e.help + " [" + e.key + ", " + env_variable(e.key) + "]";
    Entry* entry = &e;
    // The default shown is the bound field's value now, before any source is applied.
    std::string shown_default;
    if (!e.secret) {
      std::visit(
          [&](auto* target) {
            using T = std::remove_pointer_t<decltype(target)>;
            if constexpr (std::is_same_v<T, std::string>) shown_default = *target;
            if constexpr (std::is_same_v<T, std::int64_t>) shown_default = std::to_string(*target);
            if constexpr (std::is_same_v<T, bool>) shown_default = *target ? "true" : "false";
            if constexpr (std::is_same_v<T, std::vector<std::string>>) shown_default = join_commas(*target);
          },
          e.target);
    }
    if (e.kind == Kind::list) {
      // A list flag may be repeated (--backend a --backend b) or comma-separated.
      app.add_option_function<std::vector<std::string>>(
             e.flag, [entry](std::vector<std::string> const& values) { entry->flag_value = join_commas(values); },
             help)
          ->type_name("TEXT")
          ->default_str(shown_default)
          ->allow_extra_args(false);
      continue;
    }
    auto* option = app.add_option_function<std::string>(
        e.flag, [entry](std::string const& v) { entry->flag_value = v; }, help);
    if (e.kind == Kind::boolean) {
      // A boolean flag works as a plain switch (--access-log) or with a value (--access-log false):
      // CLI11 gives a bare switch its default_str, so that stays "true" and the help shows the
      // field's default through the option text instead.
      option->expected(0, 1)->default_str("true")->option_text("[BOOL]" +
                                                                (shown_default.empty() ? "" : "=" + shown_default));
    } else {
      option->type_name(e.kind == Kind::integer ? "INT" : "TEXT")->default_str(shown_default);
    }
  }
}

void Settings::reload_into(Settings& fresh) const {
  fresh.command_ = command_;
  fresh.config_file_ = config_file_;
  for (auto const& e : entries_) {
    if (Entry* other = fresh.find(e.key)) other->flag_value = e.flag_value;
  }
}

void Settings::resolve(std::map<std::string, std::string> const& environment) {
  if (!config_file_.empty()) load_toml_file(config_file_);
  load_environment(environment);
  for (auto& e : entries_) {
    if (e.flag_value) {
      // Any local user can read a process's arguments (ps, /proc/PID/cmdline): a password goes
      // in the config file or the environment, never on the command line.
      if (carries_password(*e.flag_value)) {
        throw ConfigError("flag " + e.flag + ": a password on the command line is readable by every local user; " +
                          "put the URL in the config file (" + e.key + ") or in " + env_variable(e.key));
      }
      assign_text(e, *e.flag_value, "flag " + e.flag);
      e.source = "flag " + e.flag;
    }
  }
}

void Settings::check_string(Entry& entry, std::string const& value, std::string const& where) {
  if (!entry.check) return;
  if (auto why = entry.check(value)) throw ConfigError(where + ": " + *why);
}

void Settings::assign_text(Entry& entry, std::string const& text, std::string const& where) {
  std::string quoted = entry.secret ? "the value" : "'" + text + "'";
  switch (entry.kind) {
    case Kind::string:
      check_string(entry, text, where);
      *std::get<std::string*>(entry.target) = text;
      return;
    case Kind::integer: {
      if (entry.secret) {
        std::int64_t v = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        bool parsed = ec == std::errc{} && ptr == text.data() + text.size() && !text.empty();
        if (!parsed) throw ConfigError(where + ": " + quoted + " is not an integer");
        if (v < entry.min || v > entry.max) {
          throw ConfigError(where + ": " + quoted + " is out of range " + std::to_string(entry.min) + ".." +
                            std::to_string(entry.max));
        }
        *std::get<std::int64_t*>(entry.target) = v;
        return;
      }
      *std::get<std::int64_t*>(entry.target) = checked_int(text, entry.min, entry.max, quoted, where);
      return;
    }
    case Kind::int_map: {
      std::map<std::string, std::int64_t> values;
      for (auto const& [name, value] : split_pairs(text, where)) {
        check_string(entry, name, where);
        values[name] = checked_int(value, entry.min, entry.max, "'" + value + "' (" + name + ")", where);
      }
      *std::get<std::map<std::string, std::int64_t>*>(entry.target) = std::move(values);
      return;
    }
    case Kind::table_list:
      throw ConfigError(where + ": '" + entry.key + "' is set in the config file only ([[" + entry.key + "]] tables)");
    case Kind::boolean:
      if (text == "true" || text == "1" || text == "yes") {
        *std::get<bool*>(entry.target) = true;
      } else if (text == "false" || text == "0" || text == "no") {
        *std::get<bool*>(entry.target) = false;
      } else {
        throw ConfigError(where + ": " + quoted + " is not a boolean (true or false)");
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
  std::map<std::string, Entry*> by_name;
  std::map<std::string, Entry const*> by_old_name;
  for (auto& e : entries_) {
    by_name[env_variable(e.key)] = &e;
    if (!command_.empty()) by_old_name[env_name(e.key)] = &e;
  }
  for (auto const& [name, value] : environment) {
    if (!name.starts_with("OUTBOARD_")) continue;
    if (auto it = by_name.find(name); it != by_name.end()) {
      assign_text(*it->second, value, "environment " + name);
      it->second->source = "environment " + name;
      continue;
    }
    // Refused rather than ignored: an env file half applied is worse than one not applied.
    if (auto old = by_old_name.find(name); old != by_old_name.end()) {
      throw ConfigError("environment " + name + ": renamed; use " + env_variable(old->second->key));
    }
    if (name.starts_with(env_prefix())) {
      // Ours but misspelt: it would otherwise be a silent default.
      std::vector<std::string> known;
      for (auto const& [variable, entry] : by_name) known.push_back(variable);
      std::string message = "environment " + name + ": unknown setting " +
                            (command_.empty() ? "for this command" : "of outboard " + command_);
      if (auto near = closest(name, known)) {
        message += "; did you mean " + *near + "?";
      } else if (!command_.empty()) {
        message += "; its variables are " + env_prefix() + "<KEY> (see outboard " + command_ + " --help)";
      }
      throw ConfigError(message);
    }
    refuse_unless_other_command(name);
  }
}

void Settings::refuse_unless_other_command(std::string const& name) const {
  std::string others;
  for (char const* command : kCommands) {
    if (command == command_) continue;
    std::string prefix = "OUTBOARD_" + upper_underscored(command) + "_";
    if (name.starts_with(prefix)) return;
    others += (others.empty() ? "" : ", ") + prefix + "*";
  }
  throw ConfigError("environment " + name + ": not a setting of outboard " + command_ + " (" + env_prefix() +
                    "<KEY>) nor of another command (" + others + ")");
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
          std::string where = at(source_name, node) + ": key '" + key + "'";
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
            throw ConfigError(where + ": unknown key" + suggestion_for(key));
          }
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
            case Kind::int_map: {
              auto const* tab = node.as_table();
              if (!tab) throw ConfigError(where + ": expected a table of integers, got " + toml_type_name(node));
              std::map<std::string, std::int64_t> values;
              for (auto const& [name, value] : *tab) {
                std::string item_where = at(source_name, value) + ": key '" + key + "." + std::string(name.str()) + "'";
                check_string(*entry, std::string(name.str()), item_where);
                if (!value.is_integer()) {
                  throw ConfigError(item_where + ": expected an integer, got " + toml_type_name(value));
                }
                auto number = std::to_string(*value.value<std::int64_t>());
                values[std::string(name.str())] = checked_int(number, entry->min, entry->max, number, item_where);
              }
              *std::get<std::map<std::string, std::int64_t>*>(entry->target) = std::move(values);
              break;
            }
            case Kind::table_list:
              *std::get<std::vector<TableItem>*>(entry->target) = read_table_list(entry->fields, node, key, source_name);
              break;
          }
          entry->source = at(source_name, node);
        }
      };
  walk(root, "");
}

std::string Settings::suggestion_for(std::string const& key) const {
  // Every key and every table ("server" of "server.port"), so a misspelt table is matched too.
  std::vector<std::string> known;
  for (auto const& e : entries_) {
    for (auto dot = e.key.find('.'); dot != std::string::npos; dot = e.key.find('.', dot + 1)) {
      known.push_back(e.key.substr(0, dot));
    }
    known.push_back(e.key);
  }
  auto near = closest(key, known);
  return near ? "; did you mean '" + *near + "'?" : "";
}

std::string Settings::effective_configuration() const {
  std::vector<std::pair<std::string, std::string>> lines;  // "key = value", source
  for (auto const& e : entries_) {
    std::string value;
    std::visit(
        [&](auto* target) {
          using T = std::remove_pointer_t<decltype(target)>;
          if constexpr (std::is_same_v<T, std::string>) {
            value = e.secret ? (target->empty() ? "<not set>" : "<set, hidden>")
                             : toml_quoted(without_password(*target));
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            if (e.secret) {
              value = target->empty() ? "<not set>" : "<set, hidden>";
            } else {
              value = "[";
              for (auto const& item : *target) {
                value += (value.size() > 1 ? ", " : "") + toml_quoted(without_password(item));
              }
              value += "]";
            }
          } else if constexpr (std::is_same_v<T, bool>) {
            value = e.secret ? "<set, hidden>" : *target ? "true" : "false";
          } else if constexpr (std::is_same_v<T, std::map<std::string, std::int64_t>>) {
            value = "{";
            for (auto const& [name, n] : *target) {
              value += (value.size() > 1 ? ", " : "") + toml_quoted(name) + " = " + std::to_string(n);
            }
            value += "}";
          } else if constexpr (std::is_same_v<T, std::vector<TableItem>>) {
            value = "[";
            for (auto const& item : *target) {
              std::string table = "{";
              for (auto const& [name, v] : item.values) {
                table += (table.size() > 1 ? ", " : "") + name + " = " + toml_quoted(v.text);
              }
              value += (value.size() > 1 ? ", " : "") + table + "}";
            }
            value += "]";
          } else {
            value = e.secret ? "<set, hidden>" : std::to_string(*target);
          }
        },
        e.target);
    lines.emplace_back(e.key + " = " + value, e.source);
  }
  std::size_t width = 0;
  for (auto const& [left, source] : lines) width = std::max(width, std::min<std::size_t>(left.size(), 48));
  std::string out = "# " + (command_.empty() ? std::string("outboard") : "outboard " + command_) +
                    ": effective configuration; config file: " + (config_file_.empty() ? "none" : config_file_) + "\n";
  for (auto const& [left, source] : lines) {
    out += left + std::string(left.size() < width ? width - left.size() + 2 : 2, ' ') + "# " + source + "\n";
  }
  return out;
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
