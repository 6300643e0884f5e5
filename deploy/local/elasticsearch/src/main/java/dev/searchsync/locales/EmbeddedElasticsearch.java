package dev.searchsync.locales;

import com.carrotsearch.randomizedtesting.RandomizedRunner;
import com.carrotsearch.randomizedtesting.annotations.ThreadLeakScope;
import com.carrotsearch.randomizedtesting.annotations.Timeout;
import com.carrotsearch.randomizedtesting.annotations.TimeoutSuite;
import io.netty.util.ResourceLeakDetector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.util.Version;
import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.bytes.BytesArray;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.MockNode;
import org.elasticsearch.rest.BaseRestHandler;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.transport.netty4.Netty4Plugin;
import org.elasticsearch.xcontent.XContentBuilder;
import org.junit.Test;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.RunWith;
import org.junit.runner.notification.Failure;
import sun.misc.Signal;

/**
 * Runs one Elasticsearch node in-process, for the local stack only (not for production).
 *
 * <p>Maven Central has the Elasticsearch server jar but no distribution and no modules, so the
 * node is the test framework's {@link MockNode} with the transport-netty4 plugin loaded from the
 * classpath. The test framework's static set-up (ESTestCase, BootstrapForTesting) expects a
 * RandomizedRunner context, so the node lives inside the single "test" of this class, run
 * through {@link JUnitCore}. It stays up until SIGTERM (or SIGINT), then closes cleanly.
 *
 * <p>Configuration: system properties {@code searchsync.es.*} — home, data, logs, httpPort
 * (9200), transportPort (httpPort + 100), clusterName, nodeName, host (127.0.0.1), logLevel,
 * nettyLeakDetection (simple), rootEndpoint (true) — then any argument {@code key=value} or
 * {@code -Ekey=value} as a raw node setting (wins). Heap and other JVM flags: the caller's.
 *
 * <p>Prints {@code searchsync: elasticsearch ready on HOST:PORT (N ms)} on stdout once serving.
 */
@RunWith(RandomizedRunner.class)
@ThreadLeakScope(ThreadLeakScope.Scope.NONE)
@TimeoutSuite(millis = Integer.MAX_VALUE)
@Timeout(millis = Integer.MAX_VALUE)
public class EmbeddedElasticsearch {
  private static final String PREFIX = "searchsync.es.";
  private static final List<String> extraSettings = new ArrayList<>();
  private static final CountDownLatch stopRequested = new CountDownLatch(1);
  private static final CountDownLatch closed = new CountDownLatch(1);
  private static final AtomicInteger exitCode = new AtomicInteger(-1);

  public static void main(String[] args) {
    // before anything touches log4j: our console config instead of the test framework's
    if (System.getProperty("log4j2.configurationFile") == null) {
      System.setProperty("log4j2.configurationFile", "classpath:searchsync-es-log4j2.properties");
    }
    for (String arg : args) {
      String setting = arg.startsWith("-E") ? arg.substring(2) : arg;
      if (!setting.contains("=")) {
        System.err.println("searchsync: bad argument (want key=value or -Ekey=value): " + arg);
        System.exit(2);
      }
      extraSettings.add(setting);
    }
    // SIGTERM / SIGINT close the node BEFORE the JVM shuts down: the test framework's own
    // shutdown hook stops log4j, which would swallow the node's closing log lines.
    for (String name : List.of("TERM", "INT")) {
      Signal.handle(
          new Signal(name),
          signal -> {
            exitCode.compareAndSet(-1, 128 + signal.getNumber());
            stopRequested.countDown();
          });
    }
    // any other JVM exit (System.exit elsewhere, a hook-triggering signal): close the node too
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stopRequested.countDown();
                  try {
                    if (!closed.await(60, TimeUnit.SECONDS)) {
                      System.err.println("searchsync: node did not close within 60 s");
                    }
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "searchsync-es-shutdown"));
    Result result = new JUnitCore().run(EmbeddedElasticsearch.class);
    for (Failure failure : result.getFailures()) {
      System.err.println("searchsync: elasticsearch failed: " + failure.getTrace());
    }
    // like the JVM's default signal handling (128 + signal number: 143 for SIGTERM)
    int signalled = exitCode.get();
    System.exit(!result.wasSuccessful() ? 1 : signalled >= 0 ? signalled : 0);
  }

  private static String prop(String name, String fallback) {
    String value = System.getProperty(PREFIX + name);
    return value == null || value.isBlank() ? fallback : value;
  }

  /** Node settings from the searchsync.es.* system properties and the key=value arguments. */
  static Settings settings() throws Exception {
    Path home = Path.of(prop("home", System.getProperty("user.dir"))).toAbsolutePath();
    Path data = Path.of(prop("data", home.resolve("data").toString())).toAbsolutePath();
    Path logs = Path.of(prop("logs", home.resolve("logs").toString())).toAbsolutePath();
    Files.createDirectories(data);
    Files.createDirectories(logs);
    int httpPort = Integer.parseInt(prop("httpPort", "9200"));
    Settings.Builder builder =
        Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", prop("clusterName", "searchsync-local"))
            .put("node.name", prop("nodeName", "searchsync-es-1"))
            .put("discovery.type", "single-node")
            .put("network.host", prop("host", "127.0.0.1"))
            .put("http.port", httpPort)
            .put("transport.port", prop("transportPort", Integer.toString(httpPort + 100)))
            .put("http.type", Netty4Plugin.NETTY_HTTP_TRANSPORT_NAME)
            .put("transport.type", Netty4Plugin.NETTY_TRANSPORT_NAME)
            // dev box: never flip indices read-only because the disk is getting full
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true);
    for (String setting : extraSettings) {
      int eq = setting.indexOf('=');
      builder.put(setting.substring(0, eq), setting.substring(eq + 1));
    }
    return builder.build();
  }

  /**
   * {@code GET /} and {@code HEAD /} as the distribution's rest-root module answers them (same
   * fields, values of this node), so clients that probe the root for the version work.
   */
  static final class RootInfoHandler extends BaseRestHandler {
    private final ClusterService clusterService;

    RootInfoHandler(ClusterService clusterService) {
      this.clusterService = clusterService;
    }

    @Override
    public String getName() {
      return "searchsync_root_info";
    }

    @Override
    public List<Route> routes() {
      return List.of(
          new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
    }

    @Override
    protected RestChannelConsumer prepareRequest(RestRequest request, NodeClient client) {
      return channel -> {
        if (request.method() == RestRequest.Method.HEAD) {
          channel.sendResponse(
              new RestResponse(RestStatus.OK, RestResponse.TEXT_CONTENT_TYPE, BytesArray.EMPTY));
          return;
        }
        Build build = Build.current();
        XContentBuilder body = channel.newBuilder();
        body.startObject()
            .field("name", clusterService.getNodeName())
            .field("cluster_name", clusterService.getClusterName().value())
            .field("cluster_uuid", clusterService.state().metadata().clusterUUID())
            .startObject("version")
            .field("number", build.qualifiedVersion())
            .field("build_flavor", build.flavor())
            .field("build_type", build.type().displayName())
            .field("build_hash", build.hash())
            .field("build_date", build.date())
            .field("build_snapshot", build.isSnapshot())
            .field("lucene_version", Version.LATEST.toString())
            .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
            .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
            .endObject()
            .field("tagline", "You Know, for Search")
            .endObject();
        channel.sendResponse(new RestResponse(RestStatus.OK, body));
      };
    }
  }

  @Test
  public void node() throws Exception {
    long began = System.nanoTime();
    // ESTestCase's static set-up (run by MockNode) forces Netty's "paranoid" leak detection,
    // which records a stack trace for every buffer: run it now, then put Netty's default back.
    Class.forName("org.elasticsearch.test.ESTestCase", true, getClass().getClassLoader());
    String leakLevel = prop("nettyLeakDetection", "simple");
    System.setProperty("io.netty.leakDetection.level", leakLevel);
    ResourceLeakDetector.setLevel(
        ResourceLeakDetector.Level.valueOf(leakLevel.toUpperCase(Locale.ROOT)));
    MockNode node = new MockNode(settings(), List.of(Netty4Plugin.class), true, () -> {});
    try {
      if (Boolean.parseBoolean(prop("rootEndpoint", "true"))) {
        // the distribution serves GET / from the rest-root module, which is not on Maven Central
        var clusterService = node.injector().getInstance(ClusterService.class);
        node.injector()
            .getInstance(RestController.class)
            .registerHandler(new RootInfoHandler(clusterService));
      }
      node.start(); // returns once the node is master and HTTP is bound
      var address =
          node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
      System.out.printf(
          "searchsync: elasticsearch ready on %s (%d ms)%n",
          address, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));
      System.out.flush();
      stopRequested.await();
    } finally {
      try {
        node.close();
        if (!node.awaitClose(30, TimeUnit.SECONDS)) {
          System.err.println("searchsync: node close timed out");
        }
        System.err.println("searchsync: elasticsearch stopped");
      } finally {
        closed.countDown();
      }
    }
  }
}
