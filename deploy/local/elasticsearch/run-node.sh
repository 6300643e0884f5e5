#!/usr/bin/env bash
# Start the local Elasticsearch node in the foreground (exec: the PID you get is the JVM's;
# stop it with SIGTERM). Reference implementation of the command in README.md.
#
#   run-node.sh OUTPUT_ROOT STATE_DIR [PORT] [key=value ...]
#
# OUTPUT_ROOT  directory filled by: mvn -B -q -f deploy/local/elasticsearch/pom.xml -DoutputRoot=OUTPUT_ROOT package
# STATE_DIR    home (path.home), data/, logs/, tmp/ are created in it (use a scratch dir)
# PORT         HTTP port (default $ELASTICSEARCH_HTTP_PORT or 9200); transport = PORT+100
# key=value    extra node settings (win over everything), e.g. cluster.name=x
# env: ELASTICSEARCH_HTTP_PORT, ELASTICSEARCH_TRANSPORT_PORT, ELASTICSEARCH_CLUSTER_NAME,
#      JAVA (a Java 21+ binary; default: first Java 21+ of JAVA_HOME, PATH, /usr/lib/jvm),
#      ES_JAVA_OPTS (extra JVM flags, word-split, after config/jvm.options: -Xmx512m wins)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUTPUT_ROOT STATE_DIR [PORT] [key=value ...]" >&2; exit 2; }
root=$(cd "$1" && pwd)
mkdir -p "$2/data" "$2/logs" "$2/tmp"
state=$(cd "$2" && pwd)
shift 2
port=${ELASTICSEARCH_HTTP_PORT:-9200}
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then port=$1; shift; fi

java_feature() { # prints the feature version of java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}
java=${JAVA:-}
if [ -z "$java" ]; then
  for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    v=$(java_feature "$candidate")
    if [ -n "$v" ] && [ "$v" -ge 21 ]; then java=$candidate; break; fi
  done
  [ -n "$java" ] || { echo "no Java 21+ found: set JAVA or JAVA_HOME" >&2; exit 1; }
fi

mapfile -t jvm < <(grep -vE '^[[:space:]]*(#|$)' "$root/config/jvm.options")

# AppCDS (JDK 19+): the first start records the loaded classes at exit into the archive,
# later starts map it; a stale archive (other jars / JDK) is re-created automatically.
cds=("-XX:+AutoCreateSharedArchive" "-XX:SharedArchiveFile=$root/elasticsearch-cds.jsa" "-Xlog:cds=off" "-Xlog:cds+dynamic=off")

# shellcheck disable=SC2086
exec "$java" "${jvm[@]}" "${cds[@]}" ${ES_JAVA_OPTS:-} \
  "-Djava.io.tmpdir=$state/tmp" \
  "-Dsearchsync.es.home=$state" \
  "-Dsearchsync.es.data=$state/data" \
  "-Dsearchsync.es.logs=$state/logs" \
  "-Dsearchsync.es.httpPort=$port" \
  ${ELASTICSEARCH_TRANSPORT_PORT:+"-Dsearchsync.es.transportPort=$ELASTICSEARCH_TRANSPORT_PORT"} \
  ${ELASTICSEARCH_CLUSTER_NAME:+"-Dsearchsync.es.clusterName=$ELASTICSEARCH_CLUSTER_NAME"} \
  -cp "$root/lib/*" dev.searchsync.locales.EmbeddedElasticsearch "$@"
