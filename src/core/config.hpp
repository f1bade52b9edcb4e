#pragma once
// Settings from three sources, later ones winning: a TOML file, OUTBOARD_* environment variables,
// command-line flags. Every value passes the same checks whatever its source, and a bad one
// stops start-up with a message naming where it came from: "serve.toml:3: key 'server.port': ...",
// "environment OUTBOARD_SERVER_PORT: ...", "flag --port: ...".
//
// A subcommand declares its settings once (key, type, bounds, flag, help) and binds each to a
// field of its own config struct; nothing here is global.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace CLI {
class App;
}

namespace outboard::core {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns an error message for a bad value, or nullopt when it is fine.
using StringCheck = std::function<std::optional<std::string>(std::string const&)>;

class Settings {
 public:
  // key is the dotted TOML path ("server.port"); its environment variable is OUTBOARD_ followed
  // by the key upper-cased with dots as underscores (OUTBOARD_SERVER_PORT). flag may be empty.
  void add_string(std::string key, std::string& target, std::string flag, std::string help,
                  StringCheck check = {});
  void add_int(std::string key, std::int64_t& target, std::int64_t min, std::int64_t max,
               std::string flag, std::string help);
  void add_bool(std::string key, bool& target, std::string flag, std::string help);
  // In the environment and on the command line, a list is comma-separated.
  void add_list(std::string key, std::vector<std::string>& target, std::string flag,
                std::string help, StringCheck check_each = {});

  // Registers every setting that has a flag on the CLI11 app, plus --config FILE.
  void register_flags(CLI::App& app);

  // After CLI11 parsed the command line: file (if --config given), then environment, then the
  // flags that were given. Throws ConfigError on the first bad value.
  void resolve(std::map<std::string, std::string> const& environment);

  // Each stage on its own, for tests and for callers that load differently.
  void load_toml_file(std::string const& path);
  void load_toml_text(std::string const& text, std::string const& source_name);
  void load_environment(std::map<std::string, std::string> const& environment);

  // For a reload (SIGHUP): gives `fresh` (same settings declared anew) this one's config file
  // path and the flags the command line gave, so fresh.resolve() reads the file again.
  void reload_into(Settings& fresh) const;

  static std::string env_name(std::string const& key);
  static std::map<std::string, std::string> process_environment();

 private:
  enum class Kind { string, integer, boolean, list };
  struct Entry {
    std::string key;
    Kind kind;
    std::variant<std::string*, std::int64_t*, bool*, std::vector<std::string>*> target;
    std::int64_t min = 0, max = 0;
    std::string flag, help;
    StringCheck check;
    std::optional<std::string> flag_value;  // raw text of the flag when given
  };
  Entry& add(Entry entry);
  Entry* find(std::string const& key);
  // Parses text (from env or a flag) into the entry; the error names `where`.
  void assign_text(Entry& entry, std::string const& text, std::string const& where);
  void check_string(Entry& entry, std::string const& value, std::string const& where);

  std::vector<Entry> entries_;
  std::string config_file_;
  std::vector<std::string> raw_flags_;  // storage CLI11 writes into, one per flagged entry
};

}  // namespace outboard::core
