package org.dhis2infra.standin;

// STAND-IN, NOT GLOWROOT. A Java agent built by the end-to-end test (tests/e2e/standin/build.sh)
// because glowroot's release archive cannot be downloaded where the test runs. Packed like
// glowroot's dist zip (glowroot/glowroot.jar), loaded the same way (-javaagent), it reads the
// admin.json next to its jar and serves a page on web.bindAddress:web.port under web.contextPath,
// so that the test can check the proxy's login in front of it. It is never shipped as glowroot.

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class StandInGlowroot {
  private static String field(String json, String name, String def) {
    Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(\"([^\"]*)\"|(\\d+))").matcher(json);
    if (!m.find()) return def;
    return m.group(2) != null ? m.group(2) : m.group(3);
  }

  public static void premain(String args, Instrumentation inst) throws Exception {
    Path jar = Path.of(StandInGlowroot.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    String admin = Files.readString(jar.resolveSibling("admin.json"));
    int port = Integer.parseInt(field(admin, "port", "4000"));
    String bind = field(admin, "bindAddress", "127.0.0.1");
    String ctx = field(admin, "contextPath", "/");
    HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 16);
    server.createContext(ctx.endsWith("/") ? ctx : ctx + "/", ex -> {
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      byte[] body = ("GLOWROOT STAND-IN (dhis2-infra end-to-end test agent, not glowroot)\n"
          + "jvm uptime ms: " + ManagementFactory.getRuntimeMXBean().getUptime() + "\n"
          + "heap used bytes: " + heap + "\n").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
      ex.sendResponseHeaders(200, body.length);
      try (OutputStream o = ex.getResponseBody()) { o.write(body); }
    });
    server.setExecutor(null);
    Thread t = new Thread(server::start, "glowroot-stand-in");
    t.setDaemon(true);
    t.start();
    System.err.println("glowroot stand-in (not glowroot): serving " + ctx + " on " + bind + ":" + port);
  }
}
