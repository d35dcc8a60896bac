package clearinghouse;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginBundle;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * A single Elasticsearch node from the server's jars, for the tests: `-E key=value` settings as
 * bin/elasticsearch takes them, the modules under path.home/modules, the config directory from
 * $ES_PATH_CONF. SIGTERM closes the node cleanly.
 */
public final class TestNode {
    public static void main(String[] args) throws Exception {
        Settings.Builder settings = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].equals("-E") || i + 1 == args.length || !args[i + 1].contains("=")) {
                throw new IllegalArgumentException("usage: TestNode [-E key=value]...");
            }
            String[] pair = args[++i].split("=", 2);
            settings.put(pair[0], pair[1]);
        }
        Settings given = settings.build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(given.get("node.name", "node"));
        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(given);
        String config = System.getenv("ES_PATH_CONF");
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            given, Map.of(), config == null ? null : Path.of(config), () -> "node");
        Set<PluginBundle> modules = PluginsLoader.loadModulesBundles(environment.modulesDir(), false);
        Node node = new Node(environment, PluginsLoader.createPluginsLoader(modules, Set.of(), Map.of()));
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            }
            closed.countDown();
        }));
        node.start();
        closed.await();
    }
}
