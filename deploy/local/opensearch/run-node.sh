#!/usr/bin/env bash
# Start the local OpenSearch node in the foreground (exec: the PID you get is the JVM's;
# stop it with SIGTERM). Reference implementation of the command in README.md.
#
#   run-node.sh OUTPUT_ROOT STATE_DIR [-Esetting=value ...]
#
# OUTPUT_ROOT  directory filled by: mvn -B -q -f deploy/local/opensearch/pom.xml -DoutputRoot=OUTPUT_ROOT package
# STATE_DIR    data/, logs/, tmp/ are created in it (use a scratch dir)
# env: OPENSEARCH_HTTP_PORT (9200), OPENSEARCH_TRANSPORT_PORT (9300), JAVA (java),
#      OPENSEARCH_JAVA_OPTS (extra JVM flags, word-split)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUTPUT_ROOT STATE_DIR [-Ekey=value ...]" >&2; exit 2; }
root=$(cd "$1" && pwd)
mkdir -p "$2/data" "$2/logs" "$2/tmp"
state=$(cd "$2" && pwd)
shift 2

mapfile -t jvm < <(grep -vE '^[[:space:]]*(#|$)' "$root/config/jvm.options")

# AppCDS: the first start records the loaded classes at exit, later starts map them
# (~5.5 s -> ~2.3 s to a green node). A stale archive (other jars / JDK) is ignored by
# the JVM with a one-line warning; delete the file to re-record.
cds="$root/opensearch-cds.jsa"
if [ -f "$cds" ]; then
  cdsopt=("-XX:SharedArchiveFile=$cds")
else
  cdsopt=("-XX:ArchiveClassesAtExit=$cds" "-Xlog:cds=off" "-Xlog:cds+dynamic=off")
fi

# shellcheck disable=SC2086
exec "${JAVA:-java}" "${jvm[@]}" "${cdsopt[@]}" ${OPENSEARCH_JAVA_OPTS:-} \
  "-Djava.io.tmpdir=$state/tmp" \
  "-Dopensearch.path.home=$root" \
  "-Dopensearch.path.conf=$root/config" \
  -cp "$root/lib/*" org.opensearch.bootstrap.OpenSearch \
  "-Epath.data=$state/data" "-Epath.logs=$state/logs" \
  "-Ehttp.port=${OPENSEARCH_HTTP_PORT:-9200}" "-Etransport.port=${OPENSEARCH_TRANSPORT_PORT:-9300}" \
  "$@"
