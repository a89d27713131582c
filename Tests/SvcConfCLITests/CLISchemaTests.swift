import Foundation
import SvcConf
import Testing

// End-to-end tests of the schema features on the real binaries: schema set/show/history, writes
// typed and validated by the schema, redaction that follows it, exec that refuses an invalid config
// (through the launcher and through svcconf-cli), validate and check, and history's schema column.

/// The repository root (where schemas/ and examples/ live).
private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

private func repoFile(_ rel: String) -> String { repoRoot + "/" + rel }

private func schemaFile(_ service: String) -> String { repoFile("schemas/services/\(service).schema.json") }

private let shippedServices = ["access-boston", "registry-certs", "commissions-app", "payment-webhooks"]

/// The compiled form of a schema file, as the product computes it (digest, canonical bytes).
private func compiled(_ path: String) throws -> ServiceSchema {
    try ServiceSchema(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
}

/// A JSON schema document read from a file, edited, written into the sandbox.
private func editedSchema(_ sb: Sandbox, from service: String, to rel: String, _ edit: (inout [String: ConfigValue]) -> Void) throws {
    var doc = try parseJSON(String(decoding: Data(contentsOf: URL(fileURLWithPath: schemaFile(service))), as: UTF8.self)).objectValue ?? [:]
    edit(&doc)
    try sb.write(rel, JSON.pretty(.object(doc)))
}

extension ConfigValue {
    /// `self[a][b]...` for edits of nested schema objects.
    fileprivate mutating func update(_ path: [String], _ value: ConfigValue) {
        guard let first = path.first, case .object(var o) = self else { return }
        if path.count == 1 { o[first] = value } else {
            var child = o[first] ?? .object([:])
            child.update(Array(path.dropFirst()), value)
            o[first] = child
        }
        self = .object(o)
    }
}

private extension Sandbox {
    /// The full CLI next to the launcher.
    var cli: String { URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("svcconf-cli").path }

    /// Runs svcconf-cli itself (not the launcher) with `args` in the sandbox.
    func runCLI(_ args: [String], env: [String: String] = [:]) -> RunResult {
        runProcess(cli, args, stdin: nil, env: environment(env), cwd: root)
    }

    /// `schema set SERVICE schemas/services/SERVICE.schema.json`.
    func setShippedSchema(_ service: String, sourceLocation: SourceLocation = #_sourceLocation) {
        ok(["schema", "set", service, schemaFile(service)], sourceLocation: sourceLocation)
    }

    /// Loads examples/access-boston/ENV (.env + apps.yaml) under its schema.
    func loadAccessBoston(_ env: String, sourceLocation: SourceLocation = #_sourceLocation) {
        setShippedSchema("access-boston", sourceLocation: sourceLocation)
        ok(["set", "access-boston", "--env", env, "--from", repoFile("examples/access-boston/\(env)/.env"),
            "--file", "apps.yaml=" + repoFile("examples/access-boston/\(env)/apps.yaml"), "-m", "import"], sourceLocation: sourceLocation)
    }

    /// Loads examples/registry-certs/ENV/.env under its schema.
    func loadRegistryCerts(_ env: String, sourceLocation: SourceLocation = #_sourceLocation) {
        setShippedSchema("registry-certs", sourceLocation: sourceLocation)
        ok(["set", "registry-certs", "--env", env, "--from", repoFile("examples/registry-certs/\(env)/.env"), "-m", "import"],
           sourceLocation: sourceLocation)
    }

    /// A wrapper to stand in for svcconf-cli (`SVCCONF_CLI`) that records each hand-over in a log
    /// outside the sandbox (so a failing command still leaves the sandbox unchanged). Returns the
    /// environment to pass and the log path; the caller removes the log.
    func handoverWrapper() throws -> (env: [String: String], log: String) {
        let log = root + "-handover.log"
        try write("bin/svcconf-cli-wrapper", "#!/bin/sh\necho handed-over >> '\(log)'\nexec '\(cli)' \"$@\"\n", mode: 0o755)
        return (["SVCCONF_CLI": path("bin/svcconf-cli-wrapper")], log)
    }
}

// MARK: - schema set / show / history

@Suite struct SchemaCLISetTests {
    @Test(arguments: shippedServices)
    func setEachShippedSchemaAndShowRoundTrips(service: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        let expected = try compiled(schemaFile(service))
        let out = sb.ok(["schema", "set", service, schemaFile(service)])
        #expect(out == "\(service): stored schema 1 (\(expected.digest))\n")
        // The store keeps the canonical JSON.
        #expect(try sb.read(".svcconf/schemas/\(service)/0000000001.json") == Data(expected.canonicalBytes))
        // show prints the same document; setting it again changes nothing.
        let shown = sb.ok(["schema", "show", service])
        #expect(try parseJSON(shown) == expected.document)
        try sb.write("shown.json", shown)
        #expect(sb.ok(["schema", "set", service, "shown.json"]).contains("no changes"))
        #expect(sb.versionNumbers(service, "staging").isEmpty)
    }

    @Test func yamlSchemaFile() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("svc.schema.yaml", """
        # a schema in YAML
        type: object
        required: [HOST]
        properties:
          HOST: {type: string, format: hostname}
          PORT: {type: integer, minimum: 1, maximum: 65535}
          PASSWORD: {type: string, writeOnly: true}
        """)
        #expect(sb.ok(["schema", "set", "svc-y", "svc.schema.yaml"]).hasPrefix("svc-y: stored schema 1 (sha256:"))
        let doc = try parseJSON(sb.ok(["schema", "show", "svc-y"]))
        #expect(doc["properties"]?["PORT"] == ["type": "integer", "minimum": 1, "maximum": 65535])
        #expect(doc["properties"]?["PASSWORD"]?["writeOnly"] == true)
        #expect(doc["required"] == ["HOST"])
        // The same document as JSON is the same schema.
        try sb.write("svc.schema.json", JSON.pretty(doc))
        #expect(sb.ok(["schema", "set", "svc-y", "svc.schema.json"]).contains("no changes"))
        // And it types input: PORT=8080 is stored as a number.
        sb.ok(["set", "svc-y", "--env", "dev", "HOST=h.example.test", "PORT=8080"])
        #expect(try parseJSON(sb.ok(["show", "svc-y", "--env", "dev", "--format", "json"]))["values"]?["PORT"] == 8080)
    }

    @Test func invalidSchemaIsRefusedWithItsLocation() throws {
        let sb = try Sandbox()
        sb.initStore()
        try sb.write("bad-type.json", #"{"type": "object", "properties": {"PORT": {"type": "integr"}}}"#)
        sb.expectFailure(["schema", "set", "svc-a", "bad-type.json"], code: 10, mentions: "#/properties/PORT/type")
        try sb.write("bad-defs.json", #"{"type": "object", "$defs": {"port": {"type": "integer", "maximum": "65535"}}}"#)
        sb.expectFailure(["schema", "set", "svc-a", "bad-defs.json"], code: 10, mentions: "#/$defs/port/maximum")
        try sb.write("bad-content.json", #"""
        {"type": "object", "x-files": {"properties": {"apps.yaml": {"contentMediaType": "application/yaml",
                                                                    "contentSchema": {"type": "objekt"}}}}}
        """#)
        let r = sb.expectFailure(["schema", "set", "svc-a", "bad-content.json"], code: 10, mentions: "x-files")
        #expect(r.err.contains("apps.yaml") && r.err.contains("contentSchema"), "\(r.err)")
        try sb.write("broken.json", #"{"type": "object""#)
        sb.expectFailure(["schema", "set", "svc-a", "broken.json"], code: 10)
        try sb.write("broken.yaml", "type: [object\n")
        sb.expectFailure(["schema", "set", "svc-a", "broken.yaml"], code: 10)
        sb.expectFailure(["schema", "set", "svc-a", "missing.json"], code: 3)
        sb.expectFailure(["schema", "show", "svc-a"], code: 3)
    }

    @Test(arguments: ["Access-Boston", "../x", "a_b", ""])
    func invalidServiceNameIsUsageError(name: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["schema", "set", name, schemaFile("access-boston")], code: 2)
        sb.expectFailure(["schema", "show", name], code: 2)
        sb.expectFailure(["schema", "history", name], code: 2)
    }

    @Test func schemaNeedsAnInitializedStore() throws {
        let sb = try Sandbox()
        sb.expectFailure(["schema", "set", "access-boston", schemaFile("access-boston")], code: 3)
        #expect(!sb.exists(".svcconf/schemas"))
    }

    @Test func historyListsEverySchemaNewestFirst() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.expectFailure(["schema", "history", "svc-a"], code: 3)
        try sb.write("one.json", #"{"type": "object"}"#)
        try sb.write("two.json", #"{"type": "object", "required": ["A"]}"#)
        sb.ok(["schema", "set", "svc-a", "one.json"])
        #expect(sb.ok(["schema", "set", "svc-a", "two.json"]).hasPrefix("svc-a: stored schema 2 "))
        let d1 = try compiled(sb.path("one.json")).digest, d2 = try compiled(sb.path("two.json")).digest
        let lines = sb.ok(["schema", "history", "svc-a"]).split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].hasPrefix("NUMBER") && lines[0].contains("DIGEST"))
        #expect(lines[1].hasPrefix("2 ") && lines[1].hasSuffix(d2.description), "\(lines)")
        #expect(lines[2].hasPrefix("1 ") && lines[2].hasSuffix(d1.description), "\(lines)")
        // show defaults to the latest; --number picks one.
        #expect(try parseJSON(sb.ok(["schema", "show", "svc-a"])) == ["type": "object", "required": ["A"]])
        #expect(try parseJSON(sb.ok(["schema", "show", "svc-a", "--number", "1"])) == ["type": "object"])
        sb.expectFailure(["schema", "show", "svc-a", "--number", "3"], code: 3)
    }

    @Test func setWarnsAboutConfigsTheNewSchemaRefuses() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "svc-a", "--env", "staging", "A=canary-a"])
        try sb.write("strict.json", #"{"type": "object", "required": ["A", "B"]}"#)
        let r = sb.run(["schema", "set", "svc-a", "strict.json"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.err.contains("svc-a/staging") && r.err.contains("validate"), "\(r.err)")
        #expect(!r.out.contains(canaryPrefix) && !r.err.contains(canaryPrefix))
    }
}

// MARK: - the examples, typed by their schemas

@Suite struct SchemaCLIExamplesTests {
    @Test(arguments: ["staging", "prod"])
    func accessBostonLoadsWithPortAsNumber(env: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston(env)
        #expect(sb.ok(["get", "access-boston", "--env", env, "HAPI_REDIS_CACHE_PORT"]) == "6379\n")
        let values = try parseJSON(sb.ok(["show", "access-boston", "--env", env, "--format", "json"]))["values"]
        #expect(values?["HAPI_REDIS_CACHE_PORT"] == .int(6379), "a number, not the string \"6379\"")
        #expect(values?["HAPI_REDIS_CACHE_DATABASE"] == .int(env == "prod" ? 2 : 0))
        #expect(values?["PING_HOST"]?.stringValue?.hasSuffix("example.test") == true)
        #expect(sb.ok(["validate", "access-boston", "--env", env]).hasSuffix(": valid\n"))
        // Setting the same port as text again is no change.
        #expect(sb.ok(["set", "access-boston", "--env", env, "HAPI_REDIS_CACHE_PORT=6379"]).contains("no changes"))
        #expect(sb.versionNumbers("access-boston", env) == [1])
    }

    @Test(arguments: ["staging", "prod"])
    func registryCertsLoadsWithBooleans(env: String) throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts(env)
        let values = try parseJSON(sb.ok(["show", "registry-certs", "--env", env, "--format", "json"]))["values"]
        #expect(values?["ENCRYPT_DB_CONNECTION"] == true)
        #expect(values?["USE_MULTISUBNETFAILOVER"] == .bool(env == "prod"))
        #expect(values?["MARRIAGE_CERTS_ENABLED"] == .bool(env == "staging"))
        #expect(sb.ok(["get", "registry-certs", "--env", env, "USE_MULTISUBNETFAILOVER"]) == (env == "prod" ? "true\n" : "false\n"))
        #expect(sb.ok(["get", "registry-certs", "--env", env, "STRIPE_SECRET_KEY"]).hasPrefix(env == "prod" ? "sk_live_" : "sk_test_"))
    }

    @Test func registryCertsProdRefusesATestPublishableKey() throws {
        // The schema's if/then: a live secret key needs a live publishable key.
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts("prod")
        sb.expectFailure(["set", "registry-certs", "--env", "prod", "STRIPE_PUBLISHABLE_KEY=pk_test_FAKE"], code: 5,
                         details: ["/STRIPE_PUBLISHABLE_KEY: "])
    }
}

// MARK: - invalid writes

@Suite struct SchemaCLIWriteTests {
    @Test func setWithSeveralErrorsListsEachByPointerAndWritesNothing() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        let r = sb.expectFailure(["set", "access-boston", "--env", "staging", "HAPI_REDIS_CACHE_PORT=99999",
                                  "PING_HOST=canary bad host!", "ROLLBAR_ENVIRONMENT=canary-env"], code: 5,
                                 mentions: "3 errors",
                                 details: ["/HAPI_REDIS_CACHE_PORT: ", "/PING_HOST: ", "/ROLLBAR_ENVIRONMENT: "])
        #expect(errorDetails(r.err).count == 3, "\(r.err)")
        #expect(r.err.contains("nothing was written"))
        #expect(sb.versionNumbers("access-boston", "staging") == [1])
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "HAPI_REDIS_CACHE_PORT"]) == "6379\n")
    }

    @Test func aSecretFromStdinThatFailsIsNotEchoed() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        // minLength 32.
        sb.expectFailure(["set", "access-boston", "--env", "staging", "--secret", "SESSION_COOKIE_PASSWORD"], code: 5,
                         stdin: "canary-too-short\n", details: ["/SESSION_COOKIE_PASSWORD: "])
    }

    @Test func textThatIsNotExactlyANumberStaysTextAndFails() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        for text in ["06379", "+6379", " 6379", "6379.0"] {
            sb.expectFailure(["set", "access-boston", "--env", "staging", "HAPI_REDIS_CACHE_PORT=\(text)"], code: 5,
                             details: ["/HAPI_REDIS_CACHE_PORT: must be of type integer"])
        }
        // KEY:=JSON is typed already.
        #expect(sb.ok(["set", "access-boston", "--env", "staging", "HAPI_REDIS_CACHE_PORT:=6380"]).contains("wrote version 2"))
    }

    @Test func unsetOfARequiredKeyFails() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        sb.expectFailure(["unset", "access-boston", "--env", "staging", "PING_HOST"], code: 5, details: ["PING_HOST"])
        sb.expectFailure(["unset", "access-boston", "--env", "staging", "--file", "apps.yaml"], code: 5, details: ["apps.yaml"])
        // An optional one is fine.
        sb.ok(["unset", "access-boston", "--env", "staging", "GOOGLE_TRACKING_ID"])
        #expect(sb.versionNumbers("access-boston", "staging") == [1, 2])
    }

    @Test func rollbackToAVersionTheCurrentSchemaRefuses() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts("staging")
        // A new schema requires a new key; version 2 has it, version 1 does not.
        try editedSchema(sb, from: "registry-certs", to: "strict.json") { doc in
            doc["required"] = .array((doc["required"]?.arrayValue ?? []) + ["NEW_KEY"])
            var props = doc["properties"] ?? [:]
            props.update(["NEW_KEY"], ["type": "string"])
            doc["properties"] = props
        }
        sb.ok(["schema", "set", "registry-certs", "strict.json"])
        sb.ok(["set", "registry-certs", "--env", "staging", "NEW_KEY=x"])
        sb.expectFailure(["rollback", "registry-certs", "--env", "staging", "--to", "1"], code: 5, details: ["NEW_KEY"])
        #expect(sb.versionNumbers("registry-certs", "staging") == [1, 2])
    }

    @Test func fromAnEnvFileMissingRequiredKeysIntoANewEnv() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.setShippedSchema("registry-certs")
        try sb.write("partial.env", "REGISTRY_DATA_DB_USER=reader\nREGISTRY_DATA_DB_PASSWORD=canary-db-pw\nENCRYPT_DB_CONNECTION=maybe\n")
        let r = sb.expectFailure(["set", "registry-certs", "--env", "qa", "--from", "partial.env"], code: 5,
                                 details: ["is missing the required property \"STRIPE_SECRET_KEY\"", "/ENCRYPT_DB_CONNECTION: "])
        #expect(errorDetails(r.err).count == 8, "7 missing keys and one non-boolean: \(r.err)")
        #expect(!sb.exists(".svcconf/configs/registry-certs/qa"))
    }
}

// MARK: - redaction follows the schema

@Suite struct SchemaCLIRedactionTests {
    @Test func showPrintsDescribedValuesInClearAndSecretsAsFingerprints() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        for format in ["yaml", "json", "env"] {
            let out = sb.ok(["show", "access-boston", "--env", "staging", "--format", format])
            #expect(out.contains("sso.staging.example.test"), "PING_HOST in clear (\(format)): \(out)")
            #expect(!out.contains("fake-staging-cookie-password") && !out.contains("fake-staging-iiq-password")
                    && !out.contains("fake-staging-api-key"), "a secret in show --format \(format): \(out)")
        }
        let doc = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--format", "json"]))
        #expect(doc["values"]?["PING_HOST"] == "sso.staging.example.test")
        #expect(doc["values"]?["ROLLBAR_BROWSER_ACCESS_TOKEN"] == "fake-rollbar-browser-token", "described, not writeOnly: shown")
        for secret in ["SESSION_COOKIE_PASSWORD", "API_KEYS", "WEB_API_KEY", "IDENTITYIQ_PASSWORD", "GROUP_MGMT_API_KEY", "ROLLBAR_ACCESS_TOKEN"] {
            #expect(doc["values"]?[secret]?.stringValue?.hasPrefix("<secret fp:") == true, "\(secret): \(String(describing: doc["values"]?[secret]))")
        }
        let apps = try String(decoding: Data(contentsOf: URL(fileURLWithPath: repoFile("examples/access-boston/staging/apps.yaml"))), as: UTF8.self)
        #expect(doc["files"]?["apps.yaml"] == .string(apps), "apps.yaml is described and not secret: shown as text")
        #expect(sb.ok(["show", "access-boston", "--env", "staging"]).contains("Time and attendance"))
    }

    @Test func aWriteOnlyFileIsRedactedADescribedOneShown() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.setShippedSchema("access-boston")
        try sb.write("server.key", "canary-private-key\n")
        try sb.write("server.crt", "-----BEGIN CERTIFICATE-----\n")
        sb.ok(["set", "access-boston", "--env", "staging", "--from", repoFile("examples/access-boston/staging/.env"),
               "--file", "apps.yaml=" + repoFile("examples/access-boston/staging/apps.yaml"),
               "--file", "server.key", "--file", "server.crt"])
        let doc = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--format", "json"]))
        #expect(doc["files"]?["server.key"]?.stringValue?.hasPrefix("<secret file,") == true)
        #expect(doc["files"]?["server.crt"] == "-----BEGIN CERTIFICATE-----\n")
        #expect(!JSON.canonicalString(doc).contains(canaryPrefix))
    }

    @Test func diffShowsDescribedValuesInClearAndSecretsAsFingerprints() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        sb.ok(["set", "access-boston", "--env", "staging", "PING_HOST=a"])
        sb.ok(["set", "access-boston", "--env", "staging", "PING_HOST=b", "--secret", "SESSION_COOKIE_PASSWORD"],
              stdin: canary + "-0123456789abcdef0123456789abcdef\n")
        let r = sb.run(["diff", "access-boston", "--env", "staging"])
        #expect(r.code == 1, "\(r.err)")
        #expect(r.out.contains(#"~ PING_HOST: "a" -> "b""#), "\(r.out)")
        #expect(r.out.contains("~ SESSION_COOKIE_PASSWORD: <secret fp:"), "\(r.out)")
        #expect(!r.out.contains(canaryPrefix) && !r.out.contains("fake-staging-cookie-password"), "\(r.out)")
        // JSON too.
        let json = sb.run(["diff", "access-boston", "--env", "staging", "--format", "json"])
        #expect(json.code == 1 && json.out.contains(#""b""#) && !json.out.contains(canaryPrefix), "\(json.out)")
    }

    @Test func diffOfTwoEnvsUnderTheSchema() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        sb.loadAccessBoston("prod")
        let r = sb.run(["diff", "access-boston", "--env", "staging", "--env", "prod"])
        #expect(r.code == 1, "\(r.err)")
        #expect(r.out.contains(#"~ PING_HOST: "sso.staging.example.test" -> "sso.example.test""#), "\(r.out)")
        #expect(r.out.contains("~ SESSION_COOKIE_PASSWORD: <secret fp:"), "\(r.out)")
        #expect(r.out.contains(#"~ ROLLBAR_ENVIRONMENT: "staging" -> "production""#), "\(r.out)")
        #expect(!r.out.contains("fake-staging-") && !r.out.contains("fake-prod-"), "\(r.out)")
    }

    @Test func aConfigWrittenBeforeTheSchemaStaysFullyRedacted() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "registry-certs", "--env", "staging", "--from", repoFile("examples/registry-certs/staging/.env")])
        sb.setShippedSchema("registry-certs")
        let before = try parseJSON(sb.ok(["show", "registry-certs", "--env", "staging", "--format", "json"]))
        for (key, value) in before["values"]?.objectValue ?? [:] {
            #expect(value.stringValue?.hasPrefix("<secret fp:") == true, "\(key) shown from a version no schema checked: \(value)")
        }
        #expect(before["values"]?.objectValue?.count == 16)
        // The next write is checked and typed; it shows described values. A diff across both stays redacted.
        sb.ok(["set", "registry-certs", "--env", "staging", "REGISTRY_DATA_DB_USER=other"])
        let after = try parseJSON(sb.ok(["show", "registry-certs", "--env", "staging", "--format", "json"]))
        #expect(after["values"]?["REGISTRY_DATA_DB_USER"] == "other")
        #expect(after["values"]?["ENCRYPT_DB_CONNECTION"] == true)
        let diff = sb.run(["diff", "registry-certs", "--env", "staging"])
        #expect(diff.code == 1)
        #expect(!diff.out.contains("registry_reader") && !diff.out.contains(#""other""#), "\(diff.out)")
        #expect(sb.ok(["show", "registry-certs", "--env", "staging", "--version", "1"]).contains("REGISTRY_DATA_DB_USER: <secret fp:"))
    }
}

// MARK: - exec refuses an invalid config

@Suite struct SchemaCLIExecTests {
    /// registry-certs staging loaded, then a schema that requires a key the config lacks.
    private func stricterRegistryCerts() throws -> Sandbox {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts("staging")
        try editedSchema(sb, from: "registry-certs", to: "strict.json") { doc in
            doc["required"] = .array((doc["required"]?.arrayValue ?? []) + ["NEW_KEY"])
        }
        sb.ok(["schema", "set", "registry-certs", "strict.json"])
        return sb
    }

    @Test func newRequiredKeyStopsExecThroughTheLauncher() throws {
        let sb = try stricterRegistryCerts()
        let r = sb.expectFailure(["exec", "registry-certs", "--env", "staging", "--", "/bin/echo", "started"], code: 5,
                                 details: ["NEW_KEY"])
        #expect(!r.out.contains("started"))
    }

    @Test func newRequiredKeyStopsExecThroughSvcconfCLI() throws {
        let sb = try stricterRegistryCerts()
        let r = sb.runCLI(["exec", "registry-certs", "--env", "staging", "--", "/bin/echo", "started"])
        expectError(r, code: 5, details: ["NEW_KEY"], command: "svcconf-cli exec")
        #expect(!r.out.contains("started"))
        // The launcher (which checks this one itself: no YAML involved) says exactly the same.
        let fast = sb.run(["exec", "registry-certs", "--env", "staging", "--", "/bin/echo", "started"])
        #expect(fast.code == r.code && fast.out == r.out && fast.err == r.err, "launcher: \(fast.err)\nsvcconf-cli: \(r.err)")
    }

    @Test func aStoredSchemaThatNoLongerCompilesFailsClosedAndCanBeReplaced() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts("staging")
        try FileManager.default.removeItem(atPath: sb.path(".svcconf/schemas/registry-certs/0000000001.json"))
        try sb.write(".svcconf/schemas/registry-certs/0000000001.json", "{not json", mode: 0o444)
        let exec = ["exec", "registry-certs", "--env", "staging", "--", "/bin/echo", "started"]
        sb.expectFailure(exec, code: 7, mentions: "schema 1 of registry-certs", hint: "svcconf schema set registry-certs")
        expectError(sb.runCLI(exec), code: 7, command: "svcconf-cli exec")
        sb.expectFailure(["set", "registry-certs", "--env", "staging", "REGISTRY_DATA_DB_USER=x"], code: 7)
        // The way out the hint names works: a good schema replaces it.
        #expect(sb.ok(["schema", "set", "registry-certs", schemaFile("registry-certs")]).hasPrefix("registry-certs: stored schema 2 "))
        #expect(sb.ok(exec) == "started\n")
        sb.ok(["set", "registry-certs", "--env", "staging", "REGISTRY_DATA_DB_USER=x"])
    }

    @Test func newRequiredKeyStopsExecOfAConfigWithFiles() throws {
        // access-boston's schema needs YAML: the launcher hands over (the version's digest is not the
        // current schema's), and svcconf-cli refuses. No file is left behind.
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        try editedSchema(sb, from: "access-boston", to: "strict.json") { doc in
            doc["required"] = .array((doc["required"]?.arrayValue ?? []) + ["NEW_KEY"])
            var props = doc["properties"] ?? [:]
            props.update(["NEW_KEY"], ["type": "string"])
            doc["properties"] = props
        }
        sb.ok(["schema", "set", "access-boston", "strict.json"])
        for run in [{ sb.run($0) }, { sb.runCLI($0) }] as [([String]) -> RunResult] {
            let r = run(["exec", "access-boston", "--env", "staging", "--files-dir", "app", "--", "/bin/echo", "started"])
            expectError(r, code: 5, details: ["NEW_KEY"], command: "exec")
            #expect(!r.out.contains("started"))
            #expect(!sb.exists("app/apps.yaml"))
        }
    }

    @Test func appsYAMLThatViolatesANewContentSchemaStopsExec() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")   // apps.yaml has 2 categories
        try editedSchema(sb, from: "access-boston", to: "strict.json") { doc in
            var defs = doc["$defs"] ?? [:]
            defs.update(["apps", "properties", "categories", "maxItems"], 1)
            doc["$defs"] = defs
        }
        sb.ok(["schema", "set", "access-boston", "strict.json"])
        let (env, log) = try sb.handoverWrapper()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let r = sb.run(["exec", "access-boston", "--env", "staging", "--files-dir", "app", "--", "/bin/echo", "started"], env: env)
        expectError(r, code: 5, details: ["file apps.yaml: /categories: "], command: "svcconf exec")
        #expect(!r.out.contains("started"))
        #expect(FileManager.default.fileExists(atPath: log), "the launcher cannot check YAML: it must hand over to svcconf-cli")
        #expect(!sb.exists("app/apps.yaml"))
        // svcconf-cli on its own refuses too, and validate says why.
        let full = sb.runCLI(["exec", "access-boston", "--env", "staging", "--files-dir", "app", "--", "/bin/echo", "started"])
        expectError(full, code: 5, details: ["file apps.yaml: /categories: "], command: "svcconf-cli exec")
        let v = sb.run(["validate", "access-boston", "--env", "staging"])
        #expect(v.code == 5 && v.out.contains("  file apps.yaml: /categories: must have at most 1 item"), "\(v.out)")
    }

    @Test func validConfigExecsAndTheChildSeesTypedValues() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        let (env, log) = try sb.handoverWrapper()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let r = sb.run(["exec", "access-boston", "--env", "staging", "--files-dir", "app", "--",
                        "/bin/sh", "-c", #"echo "started port=$HAPI_REDIS_CACHE_PORT db=$HAPI_REDIS_CACHE_DATABASE""#], env: env)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "started port=6379 db=0\n")
        #expect(!FileManager.default.fileExists(atPath: log),
                "the version was validated against the current schema: the launcher needs no hand-over")
        #expect(try sb.read("app/apps.yaml") == Data(contentsOf: URL(fileURLWithPath: repoFile("examples/access-boston/staging/apps.yaml"))))
    }

    @Test func aNewYAMLSchemaTheConfigSatisfiesExecsAfterHandOver() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadAccessBoston("staging")
        try editedSchema(sb, from: "access-boston", to: "looser.json") { doc in
            var defs = doc["$defs"] ?? [:]
            defs.update(["apps", "properties", "categories", "maxItems"], 5)
            doc["$defs"] = defs
        }
        sb.ok(["schema", "set", "access-boston", "looser.json"])
        let (env, log) = try sb.handoverWrapper()
        defer { try? FileManager.default.removeItem(atPath: log) }
        let r = sb.run(["exec", "access-boston", "--env", "staging", "--files-dir", "app", "--", "/bin/sh", "-c",
                        #"echo "started $HAPI_REDIS_CACHE_PORT""#], env: env)
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out == "started 6379\n")
        #expect(FileManager.default.fileExists(atPath: log), "the digest differs and the schema needs YAML: hand over")
    }
}

// MARK: - validate and check

@Suite struct SchemaCLIValidateTests {
    @Test func validateAStoredConfig() throws {
        let sb = try Sandbox()
        sb.initStore()
        // Before any schema: nothing to check.
        sb.ok(["set", "registry-certs", "--env", "staging", "--from", repoFile("examples/registry-certs/staging/.env"),
               "POSTMARK_FROM_ADDRESS=canary-not-an-email", "REGISTRY_DATA_DB_SERVER=canary bad host"])
        #expect(sb.ok(["validate", "registry-certs", "--env", "staging"]).contains("has no schema"))
        sb.setShippedSchema("registry-certs")
        // Invalid: the booleans are still strings (written without a schema) and two values are malformed.
        let text = sb.run(["validate", "registry-certs", "--env", "staging"])
        #expect(text.code == 5, "\(text.err)")
        #expect(text.err.isEmpty, "\(text.err)")
        #expect(text.out.hasPrefix("registry-certs/staging version 1: 5 errors\n"), "\(text.out)")
        for pointer in ["/POSTMARK_FROM_ADDRESS: ", "/REGISTRY_DATA_DB_SERVER: ", "/ENCRYPT_DB_CONNECTION: ",
                        "/USE_MULTISUBNETFAILOVER: ", "/MARRIAGE_CERTS_ENABLED: "] {
            #expect(text.out.contains("  " + pointer), "\(pointer): \(text.out)")
        }
        #expect(!text.out.contains(canaryPrefix) && !text.out.contains("fake-"), "\(text.out)")
        let json = sb.run(["validate", "registry-certs", "--env", "staging", "--format", "json"])
        #expect(json.code == 5)
        let doc = try parseJSON(json.out)
        #expect(doc["valid"] == false)
        let errors = doc["errors"]?.arrayValue ?? []
        #expect(errors.count == 5)
        #expect(Set(errors.compactMap { $0["instanceLocation"]?.stringValue }) ==
                ["/POSTMARK_FROM_ADDRESS", "/REGISTRY_DATA_DB_SERVER", "/ENCRYPT_DB_CONNECTION", "/USE_MULTISUBNETFAILOVER", "/MARRIAGE_CERTS_ENABLED"])
        #expect(errors.allSatisfy { $0["keyword"] != nil && $0["schemaLocation"] != nil && $0["message"] != nil && $0["file"] == .null })
        #expect(!json.out.contains(canaryPrefix))
        // Fixed: valid.
        sb.ok(["set", "registry-certs", "--env", "staging", "POSTMARK_FROM_ADDRESS=orders@example.test", "REGISTRY_DATA_DB_SERVER=db.example.test"])
        #expect(sb.ok(["validate", "registry-certs", "--env", "staging"]) == "registry-certs/staging version 2: valid\n")
        #expect(try parseJSON(sb.ok(["validate", "registry-certs", "--env", "staging", "--format", "json"])) == ["valid": true, "errors": []])
        // An older version against the current schema.
        #expect(sb.run(["validate", "registry-certs", "--env", "staging", "--version", "1"]).code == 5)
        sb.expectFailure(["validate", "registry-certs", "--env", "nope"], code: 3)
    }

    @Test func validateFilesAgainstASchemaFileWithoutAStore() throws {
        let sb = try Sandbox()
        let ok = sb.run(["validate", "--schema", schemaFile("registry-certs"), repoFile("examples/registry-certs/prod/.env")])
        #expect(ok.code == 0, "\(ok.err)")
        #expect(ok.out.hasSuffix(": valid\n"), "\(ok.out)")
        try sb.write("bad.env", "REGISTRY_DATA_DB_USER=u\nREGISTRY_DATA_DB_PASSWORD=canary-pw\nENCRYPT_DB_CONNECTION=canary-bool\n")
        let bad = sb.run(["validate", "--schema", schemaFile("registry-certs"), "bad.env"])
        #expect(bad.code == 5)
        #expect(bad.out.contains("/ENCRYPT_DB_CONNECTION: must be of type boolean"), "\(bad.out)")
        #expect(bad.out.contains(#"is missing the required property "STRIPE_SECRET_KEY""#), "\(bad.out)")
        #expect(!bad.out.contains(canaryPrefix) && !bad.err.contains(canaryPrefix))
        let json = sb.run(["validate", "--schema", schemaFile("registry-certs"), "bad.env", "--format", "json"])
        #expect(json.code == 5)
        #expect(try parseJSON(json.out)["valid"] == false)
        // YAML and JSON values files too, and a YAML schema.
        try sb.write("values.json", #"{"HOST": "h.example.test", "PORT": 8080}"#)
        try sb.write("values.yaml", "HOST: h.example.test\nPORT: 99999\n")
        try sb.write("s.yaml", "type: object\nproperties:\n  HOST: {type: string, format: hostname}\n  PORT: {type: integer, maximum: 65535}\n")
        #expect(sb.run(["validate", "--schema", "s.yaml", "values.json"]).code == 0)
        let y = sb.run(["validate", "--schema", "s.yaml", "values.yaml"])
        #expect(y.code == 5 && y.out.contains("/PORT: must be at most 65535"), "\(y.out)")
        #expect(!sb.exists(".svcconf"), "validate --schema needs no store and creates none")
        // Usage errors.
        sb.expectFailure(["validate", "--schema", "s.yaml", "values.json", "--env", "prod"], code: 2)
        try sb.write("bad-schema.json", #"{"type": 1}"#)
        sb.expectFailure(["validate", "--schema", "bad-schema.json", "values.json"], code: 10)
    }

    @Test func checkOverSeveralConfigs() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.loadRegistryCerts("staging")
        sb.loadRegistryCerts("prod")
        sb.loadAccessBoston("staging")
        sb.ok(["set", "svc-x", "--env", "dev", "A=canary-a"])   // no schema
        let all = sb.run(["check"])
        #expect(all.code == 0, "\(all.out)\(all.err)")
        let lines = all.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(all.out)")
        for label in ["access-boston/staging version 1 (schema 1)", "registry-certs/prod version 1 (schema 1)",
                      "registry-certs/staging version 1 (schema 1)", "svc-x/dev version 1 (no schema)"] {
            #expect(lines.contains("ok   " + label), "\(label): \(all.out)")
        }
        // A stricter registry-certs schema that only staging fails (prod sets USE_MULTISUBNETFAILOVER=true).
        try editedSchema(sb, from: "registry-certs", to: "strict.json") { doc in
            var props = doc["properties"] ?? [:]
            props.update(["USE_MULTISUBNETFAILOVER", "const"], true)
            doc["properties"] = props
        }
        sb.ok(["schema", "set", "registry-certs", "strict.json"])
        let one = sb.run(["check"])
        #expect(one.code == 5, "\(one.out)\(one.err)")
        #expect(one.out.contains("FAIL registry-certs/staging version 1: 1 schema error(s)"), "\(one.out)")
        #expect(one.out.contains("/USE_MULTISUBNETFAILOVER: "), "\(one.out)")
        #expect(one.out.contains("ok   registry-certs/prod version 1 (schema 2)"), "\(one.out)")
        #expect(one.out.contains("ok   access-boston/staging version 1 (schema 1)"), "\(one.out)")
        let json = sb.run(["check", "--format", "json"])
        #expect(json.code == 5)
        let rows = try parseJSON(json.out).arrayValue ?? []
        #expect(rows.count == 4)
        #expect(rows.first { $0["config"] == "registry-certs/staging" }?["ok"] == false)
        #expect(rows.first { $0["config"] == "registry-certs/prod" }?["ok"] == true)
        // No plaintext anywhere: no secrets, no values at all.
        for r in [all, one, json] {
            for needle in [canaryPrefix, "fake-", "example.test", "FAKEFAKE", "registry_reader"] {
                #expect(!r.out.contains(needle) && !r.err.contains(needle), "\(needle) in check output: \(r.out)\(r.err)")
            }
        }
    }
}

// MARK: - history's schema column

@Suite struct SchemaCLIHistoryTests {
    @Test func historyShowsTheSchemaDigestOfEachVersion() throws {
        let sb = try Sandbox()
        sb.initStore()
        sb.ok(["set", "registry-certs", "--env", "staging", "--from", repoFile("examples/registry-certs/staging/.env"), "-m", "before"])
        sb.setShippedSchema("registry-certs")
        sb.ok(["set", "registry-certs", "--env", "staging", "REGISTRY_DATA_DB_USER=other", "-m", "after"])
        let digest = try compiled(schemaFile("registry-certs")).digest
        let lines = sb.ok(["history", "registry-certs", "--env", "staging"]).split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(lines)")
        #expect(lines[0].contains("SCHEMA"))
        let v2 = lines[1].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let v1 = lines[2].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        #expect(v2.first == "2" && v2.contains(digest.short) && v2.last == "after", "\(lines[1])")
        #expect(v1.first == "1" && v1.contains("-") && v1.last == "before", "\(lines[2])")
        #expect(!v1.contains(digest.short))
        let json = try parseJSON(sb.ok(["history", "registry-certs", "--env", "staging", "--format", "json"])).arrayValue ?? []
        #expect(json.map { $0["schema"] } == [.string(digest.description), .null])
    }
}
