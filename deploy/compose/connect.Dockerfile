# syntax=docker/dockerfile:1
# Kafka Connect 4.3.0 (the apache/kafka image) with the Debezium PostgreSQL connector
# 3.6.3.Final — the same pair as the no-Docker local stack (Debezium 3.6.x is built against
# Kafka 4.3.0; keep Connect on that version, see deploy/local/kafka/README.md).
ARG KAFKA_IMAGE=apache/kafka:4.3.0

FROM debian:bookworm-slim AS plugin
ARG DEBEZIUM_VERSION=3.6.3.Final
# sha256 of debezium-connector-postgres-3.6.3.Final-plugin.tar.gz as published on Maven Central
# (…/debezium-connector-postgres-3.6.3.Final-plugin.tar.gz.sha256). Change both together.
ARG DEBEZIUM_PLUGIN_SHA256=68dfbd3aa0e22cbc164017311449f69dfe6b96b70e72c72c7a3a24ef5c7810e0
ADD https://repo1.maven.org/maven2/io/debezium/debezium-connector-postgres/${DEBEZIUM_VERSION}/debezium-connector-postgres-${DEBEZIUM_VERSION}-plugin.tar.gz /tmp/plugin.tar.gz
RUN echo "${DEBEZIUM_PLUGIN_SHA256}  /tmp/plugin.tar.gz" | sha256sum -c - \
  && mkdir -p /plugins \
  && tar -xzf /tmp/plugin.tar.gz -C /plugins \
  && test -f /plugins/debezium-connector-postgres/debezium-connector-postgres-${DEBEZIUM_VERSION}.jar

FROM ${KAFKA_IMAGE}
COPY --from=plugin /plugins /opt/kafka/plugins
COPY connect-distributed.properties /opt/kafka/config/searchsync-connect.properties
EXPOSE 8083
# The image's `appuser` (non-root) runs the worker.
CMD ["/opt/kafka/bin/connect-distributed.sh", "/opt/kafka/config/searchsync-connect.properties"]
