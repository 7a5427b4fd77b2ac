package org.dhis2infra.standin;

// STAND-IN, NOT DHIS2. An executable WAR as DHIS2 2.44's (`java [options] -jar dhis.war`): it
// reads the same options as DHIS2's embedded server (server.address, server.port,
// server.servlet.context.path, server.forward-headers-strategy=native with
// server.tomcat.remoteip.internal-proxies) and serves StandInServlet with an embedded Tomcat 10.1.
// Built by tests/e2e/standin/build.sh; never shipped or deployed as DHIS2.

import java.io.File;
import java.nio.file.Files;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.valves.RemoteIpValve;

public class StandInLauncher {
  public static void main(String[] args) throws Exception {
    String address = System.getProperty("server.address", "0.0.0.0");
    int port = Integer.parseInt(System.getProperty("server.port", "8080"));
    String contextPath = System.getProperty("server.servlet.context.path", "");
    if (contextPath.equals("/")) contextPath = "";
    File base = Files.createTempDirectory("standin-embedded").toFile();
    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(base.getAbsolutePath());
    Connector connector = new Connector();
    connector.setPort(port);
    connector.setProperty("address", address);
    tomcat.setConnector(connector);
    Context ctx = tomcat.addContext(contextPath, base.getAbsolutePath());
    Tomcat.addServlet(ctx, "standin", new StandInServlet()).setLoadOnStartup(1);
    ctx.addServletMappingDecoded("/*", "standin");
    // as Spring Boot's "native" strategy: Tomcat's RemoteIpValve, trusting only the internal proxies
    if ("native".equals(System.getProperty("server.forward-headers-strategy"))) {
      RemoteIpValve valve = new RemoteIpValve();
      String proxies = System.getProperty("server.tomcat.remoteip.internal-proxies");
      if (proxies != null) valve.setInternalProxies(proxies);
      valve.setRemoteIpHeader("X-Forwarded-For");
      valve.setProtocolHeader("X-Forwarded-Proto");
      valve.setHostHeader("X-Forwarded-Host");
      tomcat.getEngine().getPipeline().addValve(valve);
    }
    tomcat.start();
    System.out.println("stand-in embedded server on " + address + ":" + port + (contextPath.isEmpty() ? "/" : contextPath));
    tomcat.getServer().await();
  }
}
