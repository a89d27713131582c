import Foundation
import SvcConf
import SvcConfAWS
import SvcConfHTTP
import Testing

/// `svcconf import` on the real binary: today's layout (one folder per service, `.env` plus files,
/// variant sub-folders) from a local folder, and from S3 with KMS-encrypted values against moto.
@Suite struct CLIImportTests {
    // Fake values in the shape of CONTEXT.md's access-boston; the secrets are canaries.
    static let cookie = "canary-cookie-0123456789abcdef0123456789"
    static let serverKey = "-----BEGIN PRIVATE KEY-----\ncanary-server-key\n-----END PRIVATE KEY-----\n"

    static let baseEnv = """
        # access-boston, staging (fake)
        SESSION_COOKIE_PASSWORD=\(cookie)
        PING_HOST=sso.staging.example.test
        SINGLE_LOGOUT_URL=https://sso.staging.example.test/idp/startSLO.ping
        HAPI_REDIS_CACHE_HOST=redis.staging.example.test
        HAPI_REDIS_CACHE_PORT=6379
        ROLLBAR_ENVIRONMENT=staging
        ROLLBAR_BROWSER_ACCESS_TOKEN=fake-rollbar-browser-token
        PUBLIC_HOST=access.staging.example.test

        """
    /// The dev variant's own .env: another PING_HOST, no ROLLBAR_BROWSER_ACCESS_TOKEN, the rest equal.
    static let devEnv = """
        SESSION_COOKIE_PASSWORD=\(cookie)
        PING_HOST=sso.dev.example.test
        SINGLE_LOGOUT_URL=https://sso.staging.example.test/idp/startSLO.ping
        HAPI_REDIS_CACHE_HOST=redis.staging.example.test
        HAPI_REDIS_CACHE_PORT=6379
        ROLLBAR_ENVIRONMENT=staging
        PUBLIC_HOST=access.staging.example.test

        """
    static let appsYAML = "categories:\n  - title: Employee tools\n    apps:\n      - title: Timesheets\n        url: https://timesheets.staging.example.test/\n"
    static let devAppsYAML = "notice: dev portal\ncategories: []\n"

    /// `old/` in the city's layout: access-boston with a dev variant (own .env and apps.yaml) and a
    /// test variant (only a certificate), registry-certs with a .env only.
    func writeTree(_ sb: Sandbox, at root: String = "old") throws {
        try sb.write("\(root)/access-boston/.env", Self.baseEnv)
        try sb.write("\(root)/access-boston/apps.yaml", Self.appsYAML)
        try sb.write("\(root)/access-boston/server.crt", "-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n")
        try sb.write("\(root)/access-boston/server.key", Self.serverKey)
        try sb.write("\(root)/access-boston/saml-metadata.xml", "<EntityDescriptor entityID=\"https://sso.staging.example.test\"/>\n")
        try sb.write("\(root)/access-boston/dev/.env", Self.devEnv)
        try sb.write("\(root)/access-boston/dev/apps.yaml", Self.devAppsYAML)
        try sb.write("\(root)/access-boston/test/server.crt", "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n")
        try sb.write("\(root)/registry-certs/.env", "REGISTRY_DATA_DB_USER=registry\nREGISTRY_DATA_DB_PASSWORD=canary-db-pw\nENCRYPT_DB_CONNECTION=true\n")
    }

    func expectNoCanary(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!r.out.contains(canaryPrefix) && !r.err.contains(canaryPrefix), "a secret leaked: \(r.out)\(r.err)", sourceLocation: sourceLocation)
    }

    @Test func localFolderBecomesEnvAndVariantLayersAndReimportIsUnchanged() throws {
        let sb = try Sandbox()
        sb.initStore()
        try writeTree(sb)
        let first = sb.run(["import", "old", "--env", "staging"])
        #expect(first.code == 0, "\(first.err)")
        expectNoCanary(first)
        #expect(first.out == """
            access-boston/staging: created version 1
            registry-certs/staging: created version 1
            access-boston/staging/dev: created version 1
            access-boston/staging/test: created version 1

            """, "\(first.out)")

        // The env layer: every .env value and every other file.
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "SESSION_COOKIE_PASSWORD"]) == Self.cookie + "\n")
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "--file", "server.key"]) == Self.serverKey)
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "--file", "apps.yaml"]) == Self.appsYAML)
        let envValues = try parseJSON(sb.ok(["export", "access-boston", "--env", "staging", "--format", "json"]))
        #expect(envValues.objectValue?.count == 8 && envValues["HAPI_REDIS_CACHE_PORT"] == "6379")
        let envDoc = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--format", "json"]))
        #expect(Set(envDoc["files"]?.objectValue?.keys.map { $0 } ?? []) == ["apps.yaml", "server.crt", "server.key", "saml-metadata.xml"])

        // The dev layer: only what its .env changes (PING_HOST), a deletion for the key it lacks, its file.
        let dev = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--variant", "dev", "--layer", "--reveal", "--format", "json"]))
        #expect(dev["values"] == .object(["PING_HOST": "sso.dev.example.test", "ROLLBAR_BROWSER_ACCESS_TOKEN": .null]), "\(dev)")
        #expect(dev["files"] == .object(["apps.yaml": .string(Self.devAppsYAML)]))
        // The test layer: a file and no values (no .env of its own).
        let test = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--variant", "test", "--layer", "--reveal", "--format", "json"]))
        #expect(test["values"] == .object([:]) && test["files"]?.objectValue?.keys.sorted() == ["server.crt"])
        #expect(sb.ok(["history", "access-boston", "--env", "staging"]).contains("import from old"))

        // Again: nothing written, every layer unchanged.
        let again = sb.run(["import", "old", "--env", "staging"])
        #expect(again.code == 0, "\(again.err)")
        #expect(again.out.split(separator: "\n").count == 4 && again.out.split(separator: "\n").allSatisfy { $0.hasSuffix("unchanged (version 1)") }, "\(again.out)")
        #expect(sb.versionNumbers("access-boston", "staging") == [1] && sb.versionNumbers("access-boston", "staging", variant: "dev") == [1])
        let json = try parseJSON(sb.ok(["import", "old", "--env", "staging", "--format", "json"]))
        #expect(json["dryRun"] == false && json["layers"]?.arrayValue?.allSatisfy { $0["result"] == "unchanged" } == true, "\(json)")

        // A changed source file updates that layer only; --service limits the import.
        try sb.write("old/access-boston/dev/apps.yaml", "categories: []\n")
        try sb.write("old/registry-certs/.env", "REGISTRY_DATA_DB_USER=other\n")
        let limited = sb.ok(["import", "old", "--env", "staging", "--service", "access-boston", "-m", "dev tiles"])
        #expect(limited.contains("access-boston/staging/dev: updated version 1 -> 2") && limited.contains("access-boston/staging: unchanged")
                && !limited.contains("registry-certs"), "\(limited)")
        #expect(sb.ok(["history", "access-boston", "--env", "staging", "--variant", "dev"]).contains("dev tiles"))
        #expect(sb.ok(["get", "registry-certs", "--env", "staging", "REGISTRY_DATA_DB_USER"]) == "registry\n")
    }

    @Test func dryRunShowsRedactedDiffsAndWritesNothing() throws {
        let sb = try Sandbox()
        sb.initStore()
        try writeTree(sb)
        let before = sb.snapshot()
        let dry = sb.run(["import", "old", "--env", "staging", "--dry-run"])
        #expect(dry.code == 0, "\(dry.err)")
        expectNoCanary(dry)
        #expect(!dry.out.contains("sso.dev.example.test"), "no schema: every value is redacted")
        #expect(dry.out.contains("access-boston/staging: would create version 1") && dry.out.contains("+ SESSION_COOKIE_PASSWORD: <secret fp:")
                && dry.out.contains("+ file server.key: <secret file") && dry.out.contains("access-boston/staging/dev: would create version 1")
                && dry.out.hasSuffix("dry run: nothing was written\n"), "\(dry.out)")
        #expect(sb.snapshot() == before, "a dry run writes nothing")

        sb.ok(["import", "old", "--env", "staging"])
        try sb.write("old/access-boston/.env", Self.baseEnv.replacingOccurrences(of: Self.cookie, with: "canary-cookie-rotated-0123456789abcdef"))
        let after = sb.snapshot()
        let json = sb.run(["import", "old", "--env", "staging", "--dry-run", "--format", "json"])
        #expect(json.code == 0, "\(json.err)")
        expectNoCanary(json)
        let doc = try parseJSON(json.out)
        let layers = doc["layers"]?.arrayValue ?? []
        let env = layers.first { $0["variant"] == .null && $0["service"] == "access-boston" }
        #expect(env?["result"] == "would update" && env?["version"] == .int(2) && env?["previousVersion"] == .int(1), "\(json.out)")
        let changes = env?["diff"]?["changes"]?.arrayValue ?? []
        #expect(changes.count == 1 && changes.first?["path"] == "SESSION_COOKIE_PASSWORD" && changes.first?["secret"] == true, "\(json.out)")
        // The dev variant's .env keeps the old cookie, which now differs from the env layer's: its layer gets it.
        let devLayer = layers.first { $0["variant"] == "dev" }
        #expect(devLayer?["result"] == "would update" && devLayer?["diff"]?["changes"]?.arrayValue?.count == 1, "\(json.out)")
        #expect(layers.filter { $0["result"] == "unchanged" }.count == 2)
        #expect(doc["dryRun"] == true && sb.snapshot() == after)
    }

    @Test func undecryptableValuesAreListedByNameAndNothingIsWritten() throws {
        let sb = try Sandbox()
        sb.initStore()
        try writeTree(sb)
        let blob = Base64.encode(Array("canary-ciphertext-bytes-that-kms-never-made".utf8))
        try sb.write("old/access-boston/.env", Self.baseEnv + "IDENTITYIQ_PASSWORD_KMS_ENCRYPTED=\(blob)\n")
        try sb.write("old/access-boston/dev/.env", Self.devEnv + "GROUP_MGMT_API_KEY_KMS_ENCRYPTED=not-base64!\n")
        // No AWS region in the sandbox: no KMS client, so the well-formed value cannot be decrypted either.
        let r = sb.expectFailure(["import", "old", "--env", "staging"], code: 6, mentions: "2 values cannot be decrypted; nothing was written",
                                 hint: "--skip-undecryptable",
                                 details: ["access-boston/staging IDENTITYIQ_PASSWORD_KMS_ENCRYPTED: no KMS client",
                                           "access-boston/staging/dev GROUP_MGMT_API_KEY_KMS_ENCRYPTED: the value is not base64"])
        #expect(!r.err.contains(blob) && !r.err.contains("not-base64!"), "never the ciphertext: \(r.err)")
        sb.expectFailure(["import", "old", "--env", "staging", "--dry-run"], code: 6)
        // KMS unreachable is not "undecryptable": the import stops (exit 9) even when skipping.
        let noKMS = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                     "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true"]
        sb.expectFailure(["import", "old", "--env", "staging", "--skip-undecryptable"], code: 9, env: noKMS,
                         mentions: "decrypting access-boston/staging IDENTITYIQ_PASSWORD_KMS_ENCRYPTED")

        // --skip-undecryptable: written without them, and they are reported.
        let skipped = sb.run(["import", "old", "--env", "staging", "--skip-undecryptable", "--format", "json"])
        #expect(skipped.code == 0, "\(skipped.err)")
        expectNoCanary(skipped)
        #expect(skipped.err.contains("svcconf: warning: skipped access-boston/staging IDENTITYIQ_PASSWORD_KMS_ENCRYPTED")
                && skipped.err.contains("svcconf: warning: skipped access-boston/staging/dev GROUP_MGMT_API_KEY_KMS_ENCRYPTED"), "\(skipped.err)")
        let doc = try parseJSON(skipped.out)
        #expect(doc["skipped"]?.arrayValue?.map { $0["key"] } == ["IDENTITYIQ_PASSWORD_KMS_ENCRYPTED", "GROUP_MGMT_API_KEY_KMS_ENCRYPTED"], "\(skipped.out)")
        sb.expectFailure(["get", "access-boston", "--env", "staging", "IDENTITYIQ_PASSWORD"], code: 3)
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "SESSION_COOKIE_PASSWORD"]) == Self.cookie + "\n")
        let dev = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--variant", "dev", "--layer", "--reveal", "--format", "json"]))
        #expect(dev["values"]?.objectValue?.keys.sorted() == ["PING_HOST", "ROLLBAR_BROWSER_ACCESS_TOKEN"], "\(dev)")
    }

    @Test func badLayoutsAreRefusedBeforeAnythingIsWritten() throws {
        let sb = try Sandbox()
        let help = sb.ok(["import", "--help"])
        #expect(help.contains("Examples:") && help.contains("--skip-undecryptable") && help.contains("--dry-run"))
        sb.expectFailure(["import", "old", "--env", "staging"], code: 3, mentions: "does not exist")
        try writeTree(sb)
        sb.expectFailure(["import", "old", "--env", "staging"], code: 3, mentions: "not initialized")
        sb.initStore()
        sb.expectFailure(["import", "old", "--env", "base"], code: 2, mentions: "--env base")
        sb.expectFailure(["import", "old", "--env", "Staging"], code: 2)
        sb.expectFailure(["import", "old", "--env", "staging", "--service", "permit-finder"], code: 3, mentions: "no folder permit-finder/",
                         hint: "access-boston, registry-certs")
        sb.expectFailure(["import", "old/access-boston/.env", "--env", "staging"], code: 2, mentions: "not a folder")
        // A folder below SERVICE/VARIANT/ is refused by name, and --service can leave its service out.
        try sb.write("old/access-boston/dev/certs/extra.pem", "x")
        sb.expectFailure(["import", "old", "--env", "staging"], code: 10, mentions: "old/access-boston/dev/certs/: folders below SERVICE/VARIANT/ are not supported")
        #expect(sb.ok(["import", "old", "--env", "staging", "--service", "registry-certs"]).contains("registry-certs/staging: created version 1"))
        try FileManager.default.removeItem(atPath: sb.path("old/access-boston/dev/certs"))
        // X and X_KMS_ENCRYPTED both set; a key that cannot be an environment variable; bad dotenv.
        try sb.write("old/access-boston/.env", Self.baseEnv + "PING_HOST_KMS_ENCRYPTED=AQID\n")
        sb.expectFailure(["import", "old", "--env", "staging"], code: 10, mentions: "both PING_HOST and PING_HOST_KMS_ENCRYPTED are set")
        try sb.write("old/access-boston/.env", Self.baseEnv + "app.name=x\n")
        sb.expectFailure(["import", "old", "--env", "staging"], code: 10, mentions: "is not an environment variable name")
        try sb.write("old/access-boston/.env", "SESSION_COOKIE_PASSWORD=\"\(Self.cookie)\n")
        sb.expectFailure(["import", "old", "--env", "staging"], code: 10, mentions: "old/access-boston/.env: line 1: unterminated quoted value")
        try sb.write("old/access-boston/.env", Self.baseEnv)
        try sb.write("old/Access_Boston/.env", "A=1\n")
        sb.expectFailure(["import", "old", "--env", "staging"], code: 10, mentions: "not a valid service name")
        try FileManager.default.removeItem(atPath: sb.path("old/Access_Boston"))
        // A file directly in the source is skipped with a warning.
        try sb.write("old/README.md", "notes\n")
        let r = sb.run(["import", "old", "--env", "staging"])
        #expect(r.code == 0 && r.err.contains("svcconf: warning: skipped old/README.md: not in a service folder"), "\(r.err)")
    }

    @Test func schemaTypesValuesAndHoldsEachLayersEffectiveConfig() throws {
        let sb = try Sandbox()
        sb.initStore()
        try writeTree(sb)
        try sb.write("ab.schema.json", """
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
             "required": ["SESSION_COOKIE_PASSWORD", "PING_HOST", "HAPI_REDIS_CACHE_PORT"],
             "properties": {
               "SESSION_COOKIE_PASSWORD": {"type": "string", "minLength": 32, "writeOnly": true},
               "PING_HOST": {"type": "string"}, "SINGLE_LOGOUT_URL": {"type": "string", "format": "uri"},
               "HAPI_REDIS_CACHE_HOST": {"type": "string"}, "HAPI_REDIS_CACHE_PORT": {"type": "integer"},
               "ROLLBAR_ENVIRONMENT": {"type": "string"}, "ROLLBAR_BROWSER_ACCESS_TOKEN": {"type": "string"},
               "PUBLIC_HOST": {"type": "string"}},
             "additionalProperties": false}
            """)
        sb.ok(["schema", "set", "access-boston", "ab.schema.json"])
        // The dev variant's .env lacks a required key: its effective config is invalid, nothing is written.
        try sb.write("old/access-boston/dev/.env", Self.devEnv.replacingOccurrences(of: "PING_HOST=sso.dev.example.test\n", with: ""))
        sb.expectFailure(["import", "old", "--env", "staging", "--service", "access-boston"], code: 5,
                         mentions: "do not match their schemas", details: ["access-boston/staging/dev: (root): is missing the required property \"PING_HOST\""])
        // Valid: the port is typed by the schema; the variant layer (with its deletion) is accepted
        // because the config it stands for is valid; the dry run shows non-secret values.
        try sb.write("old/access-boston/dev/.env", Self.devEnv)
        let dry = sb.ok(["import", "old", "--env", "staging", "--service", "access-boston", "--dry-run"])
        #expect(dry.contains("+ PING_HOST: \"sso.dev.example.test\"") && dry.contains("+ SESSION_COOKIE_PASSWORD: <secret fp:"), "\(dry)")
        sb.ok(["import", "old", "--env", "staging", "--service", "access-boston"])
        let values = try parseJSON(sb.ok(["export", "access-boston", "--env", "staging", "--format", "json"]))
        #expect(values["HAPI_REDIS_CACHE_PORT"] == .int(6379))
        sb.ok(["validate", "access-boston", "--env", "staging"])
        #expect(sb.ok(["import", "old", "--env", "staging", "--service", "access-boston"]).split(separator: "\n").allSatisfy { $0.contains("unchanged") })
    }

    // MARK: S3 + KMS (moto)

    func awsEnv(_ endpoint: String) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
         "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
    }

    @Test func s3BucketWithKMSEncryptedValues() async throws {
        guard let endpoint = MotoEnv.open else { MotoEnv.notice("SVCCONF_TEST_S3_ENDPOINT"); return }
        let (s3, kms) = try MotoEnv.clients(endpoint: endpoint)
        let bucket = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: bucket)
        let key = try await kms.createKey(description: "access-boston staging (as the city made it)")
        // `aws kms encrypt` without an encryption context, base64 in the .env.
        func encrypted(_ plaintext: String) async throws -> String {
            Base64.encode(try await kms.encrypt(keyId: key.keyId, plaintext: Array(plaintext.utf8), context: [:]).ciphertextBlob)
        }
        let cookie = "canary-s3-cookie-0123456789abcdef0123456789"
        let devCookie = "canary-s3-dev-cookie-0123456789abcdef012345"
        let stripe = "canary-s3-stripe-sk"
        func put(_ key: String, _ text: String) async throws { _ = try await s3.putObject(bucket: bucket, key: key, body: Array(text.utf8)) }
        try await put("access-boston/", "")  // a GUI client's folder marker
        try await put("access-boston/.env", "PING_HOST=sso.staging.example.test\nSESSION_COOKIE_PASSWORD_KMS_ENCRYPTED=\(try await encrypted(cookie))\n")
        try await put("access-boston/apps.yaml", Self.appsYAML)
        try await put("access-boston/dev/.env", "PING_HOST=sso.dev.example.test\nSESSION_COOKIE_PASSWORD_KMS_ENCRYPTED=\(try await encrypted(devCookie))\n")
        try await put("access-boston/dev/apps.yaml", Self.devAppsYAML)
        try await put("registry-certs/.env", "REGISTRY_DATA_DB_USER=registry\nSTRIPE_SECRET_KEY_KMS_ENCRYPTED=\(try await encrypted(stripe))\n")
        // Blank plaintext and a ciphertext KMS never made, under a prefix of another bucket.
        let other = MotoEnv.uniqueBucket()
        try await s3.createBucket(bucket: other)
        _ = try await s3.putObject(bucket: other, key: "broken/registry-certs/.env", body: Array(("STRIPE_SECRET_KEY_KMS_ENCRYPTED=\(try await encrypted(" "))\nAPI_KEYS_KMS_ENCRYPTED=\(Base64.encode(Array(repeating: 7, count: 64)))\n").utf8))

        let sb = try Sandbox()
        let env = awsEnv(endpoint)
        sb.initStore()
        // A schema for registry-certs that does not mark STRIPE_SECRET_KEY secret: warned by name.
        try sb.write("rc.schema.json", #"{"type": "object", "properties": {"REGISTRY_DATA_DB_USER": {"type": "string"}, "STRIPE_SECRET_KEY": {"type": "string"}}}"#)
        sb.ok(["schema", "set", "registry-certs", "rc.schema.json"])

        let r = sb.run(["import", "s3://\(bucket)", "--env", "staging", "--store", "file:.svcconf"], env: env)
        #expect(r.code == 0, "\(r.err)")
        expectNoCanary(r)
        #expect(r.out == """
            access-boston/staging: created version 1
            registry-certs/staging: created version 1
            access-boston/staging/dev: created version 1

            """, "\(r.out)")
        #expect(r.err.contains("svcconf: warning: registry-certs: STRIPE_SECRET_KEY was stored encrypted") && r.err.contains("does not mark it secret"), "\(r.err)")
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "SESSION_COOKIE_PASSWORD"]) == cookie + "\n")
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "--variant", "dev", "SESSION_COOKIE_PASSWORD"]) == devCookie + "\n")
        #expect(sb.ok(["get", "registry-certs", "--env", "staging", "STRIPE_SECRET_KEY"]) == stripe + "\n")
        #expect(sb.ok(["get", "access-boston", "--env", "staging", "--variant", "dev", "--file", "apps.yaml"]) == Self.devAppsYAML)
        let shown = sb.ok(["show", "access-boston", "--env", "staging"])
        #expect(shown.contains("SESSION_COOKIE_PASSWORD: <secret fp:") && !shown.contains(canaryPrefix))
        let dev = try parseJSON(sb.ok(["show", "access-boston", "--env", "staging", "--variant", "dev", "--layer", "--reveal", "--format", "json"]))
        #expect(dev["values"]?.objectValue?.keys.sorted() == ["PING_HOST", "SESSION_COOKIE_PASSWORD"])

        // Again (and as a dry run): unchanged; the ciphertexts never reach the output.
        let again = sb.run(["import", "s3://\(bucket)", "--env", "staging"], env: env)
        #expect(again.code == 0 && again.out.split(separator: "\n").allSatisfy { $0.contains("unchanged (version 1)") }, "\(again.out)\(again.err)")
        expectNoCanary(again)
        let dry = sb.run(["import", "s3://\(bucket)", "--env", "staging", "--dry-run", "--format", "json"], env: env)
        #expect(dry.code == 0, "\(dry.err)")
        expectNoCanary(dry)

        // Blank plaintext, and a blob KMS refuses: both listed by name, nothing written.
        let bad = sb.expectFailure(["import", "s3://\(other)/broken", "--env", "staging"], code: 6, env: env,
                                   mentions: "2 values cannot be decrypted",
                                   details: ["registry-certs/staging STRIPE_SECRET_KEY_KMS_ENCRYPTED: it decrypts to a blank value",
                                             "registry-certs/staging API_KEYS_KMS_ENCRYPTED: "])
        expectNoCanary(bad)
        sb.expectFailure(["import", "s3://\(bucket)/no-such-prefix", "--env", "staging"], code: 3, env: env, mentions: "holds no service folders")
        sb.expectFailure(["import", "s3://svcconf-no-such-bucket-\(UUID().uuidString.lowercased().prefix(8))", "--env", "staging"], code: 3,
                         env: env, mentions: "does not exist")
    }
}
