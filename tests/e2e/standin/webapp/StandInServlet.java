package org.dhis2infra.standin;

// STAND-IN, NOT DHIS2. A small webapp built by the end-to-end test (tests/e2e/standin/build.sh)
// because the DHIS2 WAR cannot be downloaded where the test runs. It does what the test needs
// from DHIS2: it reads DHIS2_HOME/dhis.conf, connects to PostgreSQL with its connection.* keys,
// creates a DHIS2-shaped tracker schema on first start (as DHIS2's migrations would), and answers
// /api/ping and /api/system/info. It is never shipped or deployed as DHIS2.

// Compiled as written against jakarta.servlet (Tomcat 10.1, the embedded server) and, with the
// package renamed by build.sh, against javax.servlet (Tomcat 9): /api/system/info says which.
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class StandInServlet extends HttpServlet {
  private Properties conf;
  private volatile String schemaState = "not checked";

  @Override
  public void init() throws ServletException {
    String home = System.getenv("DHIS2_HOME");
    if (home == null) home = "/opt/dhis2";
    conf = new Properties();
    try (Reader r = Files.newBufferedReader(Path.of(home, "dhis.conf"), StandardCharsets.UTF_8)) {
      conf.load(r);
    } catch (IOException e) {
      throw new ServletException("stand-in: cannot read " + home + "/dhis.conf: " + e.getMessage(), e);
    }
    try {
      Class.forName("org.postgresql.Driver");
    } catch (ClassNotFoundException e) {
      throw new ServletException("stand-in: PostgreSQL JDBC driver missing", e);
    }
    // like DHIS2's migrations: retry until the database answers, then make the schema once
    Thread t = new Thread(this::migrate, "stand-in-migrations");
    t.setDaemon(true);
    t.start();
  }

  private Connection connect() throws SQLException {
    return DriverManager.getConnection(conf.getProperty("connection.url"), conf.getProperty("connection.username"), conf.getProperty("connection.password"));
  }

  private void migrate() {
    for (int attempt = 1; attempt <= 120; attempt++) {
      try (Connection c = connect(); Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT to_regclass('public.trackedentityattribute') IS NOT NULL")) {
          rs.next();
          if (rs.getBoolean(1)) { schemaState = "present"; return; }
        }
        // in the WAR's WEB-INF, or (the executable stand-in) on the class path
        InputStream found = getServletContext().getResourceAsStream("/WEB-INF/standin-schema.sql");
        if (found == null) found = StandInServlet.class.getResourceAsStream("/standin-schema.sql");
        try (InputStream in = found) {
          if (in == null) { schemaState = "no schema file"; return; }
          s.execute(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        schemaState = "created";
        return;
      } catch (SQLException | IOException e) {
        schemaState = "waiting for the database (attempt " + attempt + "): " + e.getMessage();
        try { Thread.sleep(5000); } catch (InterruptedException ie) { return; }
      }
    }
  }

  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String p = req.getPathInfo() == null ? "/" : req.getPathInfo();
    resp.setCharacterEncoding("UTF-8");
    switch (p) {
      case "/api/ping":
        resp.setStatus(200);
        return;
      case "/api/system/info":
        systemInfo(req, resp);
        return;
      case "/":
        resp.setContentType("text/plain");
        resp.getWriter().println("DHIS2 STAND-IN (dhis2-infra end-to-end test webapp, not DHIS2) at " + req.getContextPath() + "/");
        return;
      default:
        resp.sendError(404);
    }
  }

  private static String json(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }

  private void systemInfo(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    StringBuilder out = new StringBuilder("{");
    out.append("\"standIn\":\"dhis2-infra stand-in webapp, not DHIS2\",");
    out.append("\"version\":\"stand-in\",");
    out.append("\"contextPath\":").append(json(conf.getProperty("server.base.url"))).append(',');
    out.append("\"schema\":").append(json(schemaState)).append(',');
    // what really runs this webapp, and what the request looked like after the proxy's headers
    out.append("\"runtime\":{");
    out.append("\"servletApi\":").append(json(HttpServlet.class.getPackageName().startsWith("javax.") ? "javax" : "jakarta")).append(',');
    out.append("\"serverInfo\":").append(json(getServletContext().getServerInfo())).append(',');
    out.append("\"javaVersion\":").append(json(System.getProperty("java.version"))).append(',');
    out.append("\"javaHome\":").append(json(System.getProperty("java.home"))).append(',');
    out.append("\"scheme\":").append(json(req.getScheme())).append(',');
    out.append("\"secure\":").append(req.isSecure()).append(',');
    out.append("\"remoteAddr\":").append(json(req.getRemoteAddr())).append(',');
    out.append("\"contextPath\":").append(json(req.getContextPath()));
    out.append("},");
    try (Connection c = connect(); Statement s = c.createStatement();
         ResultSet rs = s.executeQuery("SELECT version(), current_user, current_database(), host(inet_server_addr()),"
             + " (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),"
             + " (SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension)")) {
      rs.next();
      out.append("\"databaseInfo\":{");
      out.append("\"databaseVersion\":").append(json(rs.getString(1))).append(',');
      out.append("\"user\":").append(json(rs.getString(2))).append(',');
      out.append("\"name\":").append(json(rs.getString(3))).append(',');
      out.append("\"serverAddress\":").append(json(rs.getString(4))).append(',');
      out.append("\"ssl\":").append(rs.getBoolean(5)).append(',');
      out.append("\"extensions\":").append(json(rs.getString(6))).append(',');
      out.append("\"url\":").append(json(conf.getProperty("connection.url")));
      out.append("}}");
      resp.setStatus(200);
    } catch (SQLException e) {
      out.append("\"databaseError\":").append(json(e.getMessage())).append('}');
      resp.setStatus(503);
    }
    resp.setContentType("application/json");
    resp.getWriter().print(out);
  }
}
