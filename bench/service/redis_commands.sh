# Sourced by bench/service/run.sh and profile.sh.
# redis_commands PORT: the calls of every command so far (INFO commandstats), summed; INFO itself
# (how we read them) left out, so that reading twice counts nothing.
redis_commands() {
  redis-cli -p "$1" info commandstats | tr -d '\r' |
    awk -F'[=,:]' '/^cmdstat_/ && $1 != "cmdstat_info" {n += $3} END {print n + 0}'
}
