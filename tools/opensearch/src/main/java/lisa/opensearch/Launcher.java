package lisa.opensearch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * One OpenSearch node with its plugins loaded from the classpath (no plugins folder, no security plugin).
 *
 * <p>Usage: {@code java -cp 'lib/*:classes' lisa.opensearch.Launcher path.home=DIR http.port=9200 ...}: every
 * argument is one node setting. SIGTERM closes the node (flushing its indices) before the JVM exits.
 */
public final class Launcher extends Node {
    // HTTP transport, _delete_by_query, the script engine k-NN extends, k-NN itself (its Lucene engine needs no
    // native library).
    private static final List<String> PLUGINS = List.of(
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.index.reindex.ReindexPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.knn.plugin.KNNPlugin");

    private Launcher(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        Settings settings = parse(args);
        String home = settings.get("path.home");
        if (home == null) {
            throw new IllegalArgumentException("path.home=<dir> is required");
        }
        String nodeName = settings.get("node.name", "lisa");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), Path.of(home, "config"), () -> nodeName);
        Launcher node = new Launcher(environment, plugins());

        // The node's own threads are daemons: this latch keeps the JVM up until a signal runs the hook.
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "lisa-opensearch-shutdown"));
        node.start();
        stopped.await();
    }

    private static Settings parse(String[] args) {
        Settings.Builder builder = Settings.builder();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected setting=value, got: " + arg);
            }
            builder.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        return builder.build();
    }

    private static Collection<Class<? extends Plugin>> plugins() throws ClassNotFoundException {
        List<Class<? extends Plugin>> classes = new ArrayList<>();
        for (String name : PLUGINS) {
            classes.add(Class.forName(name).asSubclass(Plugin.class));
        }
        return classes;
    }
}
