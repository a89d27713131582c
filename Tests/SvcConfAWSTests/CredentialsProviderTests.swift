import Testing
@testable import SvcConfAWS

/// Expects `body` to throw an AWSError and returns it.
func ctError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> AWSError? {
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return nil
    } catch let e as AWSError {
        return e
    } catch {
        Issue.record("expected an AWSError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

@Suite struct CredentialsEnvironmentTests {
    @Test func keysAndToken() async throws {
        let env = ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"]
        let c = try await EnvironmentCredentialsProvider(environment: env).credentials()
        #expect(c == AWSCredentials(accessKeyId: "AKIAENV", secretAccessKey: "envsecret", sessionToken: "envtoken"))
        #expect(!c.description.contains("envsecret"))
    }

    @Test func withoutTokenAndEmptyToken() async throws {
        let c = try await EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S",
                                                                        "AWS_SESSION_TOKEN": ""]).credentials()
        #expect(c.sessionToken == nil)
    }

    @Test func notConfigured() async {
        let e = await ctError { _ = try await EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": ""]).credentials() }
        #expect(e?.isCredentialsNotConfigured == true)
    }

    @Test func halfConfiguredIsAnError() async {
        let e1 = await ctError { _ = try await EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": "A"]).credentials() }
        #expect(e1?.kind == .credentials)
        #expect(e1?.isCredentialsNotConfigured == false)
        #expect(e1?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
        let e2 = await ctError { _ = try await EnvironmentCredentialsProvider(environment: ["AWS_SECRET_ACCESS_KEY": "S"]).credentials() }
        #expect(e2?.isCredentialsNotConfigured == false)
        #expect(e2?.message.contains("AWS_ACCESS_KEY_ID") == true)
        #expect(e2?.message.contains("S\"") == false)
    }

    @Test func controlCharactersRefused() async {
        let e = await ctError {
            _ = try await EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S\r\nX-Evil: 1"]).credentials()
        }
        #expect(e?.kind == .credentials)
        #expect(e?.message.contains("Evil") == false)
    }
}

@Suite struct CredentialsSharedFilesTests {
    static let home = ["HOME": "/home/u"]
    static let credsPath = "/home/u/.aws/credentials"
    static let configPath = "/home/u/.aws/config"

    func load(_ env: [String: String], _ files: [String: String]) async throws -> AWSCredentials {
        try await SharedFilesCredentialsProvider(environment: env, readFile: ctFiles(files)).credentials()
    }

    @Test func defaultProfileFromCredentialsFile() async throws {
        let c = try await load(Self.home, [Self.credsPath: """
            # a comment
            ; another
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key=defaultsecret
            aws_session_token =  tok  \r
            [other]
            aws_access_key_id = AKIAOTHER
            aws_secret_access_key = othersecret
            """])
        #expect(c == AWSCredentials(accessKeyId: "AKIADEFAULT", secretAccessKey: "defaultsecret", sessionToken: "tok"))
    }

    @Test func namedProfileAcrossBothFiles() async throws {
        var env = Self.home
        env["AWS_PROFILE"] = "dev"
        let files = [
            Self.configPath: """
            [default]
            region = us-east-1
            [dev]
            aws_access_key_id = AKIANOTAPROFILE
            [profile dev]
            region = eu-west-1
            aws_access_key_id = AKIAFROMCONFIG
            aws_secret_access_key = configsecret
            s3 =
              max_concurrent_requests = 20
            """,
            Self.credsPath: """
            [dev]
            aws_secret_access_key = credssecret
            """,
        ]
        let c = try await load(env, files)
        // The key id comes from the config file, the secret from the credentials file (which wins).
        #expect(c == AWSCredentials(accessKeyId: "AKIAFROMCONFIG", secretAccessKey: "credssecret"))
    }

    @Test func configOnlyProfile() async throws {
        let c = try await load(["HOME": "/home/u", "AWS_PROFILE": "ci"], [Self.configPath: """
            [profile ci]
            aws_access_key_id = AKIACI
            aws_secret_access_key = cisecret
            """])
        #expect(c.accessKeyId == "AKIACI")
    }

    @Test func pathOverrides() async throws {
        let env = ["HOME": "/home/u", "AWS_SHARED_CREDENTIALS_FILE": "~/elsewhere/creds", "AWS_CONFIG_FILE": "/etc/aws.conf",
                   "AWS_PROFILE": "p"]
        let files = [
            Self.credsPath: "[p]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n",
            "/home/u/elsewhere/creds": "[p]\naws_access_key_id = AKIAOVERRIDE\n",
            "/etc/aws.conf": "[profile p]\naws_secret_access_key = overridesecret\n",
        ]
        let c = try await load(env, files)
        #expect(c == AWSCredentials(accessKeyId: "AKIAOVERRIDE", secretAccessKey: "overridesecret"))
    }

    @Test func noHomeNoFiles() async {
        let e = await ctError { _ = try await load([:], [:]) }
        #expect(e?.isCredentialsNotConfigured == true)
    }

    @Test func missingFilesOrDefaultProfileIsNotConfigured() async {
        let e1 = await ctError { _ = try await load(Self.home, [:]) }
        #expect(e1?.isCredentialsNotConfigured == true)
        let e2 = await ctError { _ = try await load(Self.home, [Self.credsPath: "[other]\naws_access_key_id = A\naws_secret_access_key = S\n"]) }
        #expect(e2?.isCredentialsNotConfigured == true)
        // A default profile with only a region (credentials come from elsewhere, e.g. ECS).
        let e3 = await ctError { _ = try await load(Self.home, [Self.configPath: "[default]\nregion = us-east-1\n"]) }
        #expect(e3?.isCredentialsNotConfigured == true)
    }

    @Test func explicitProfileMissingIsAnError() async {
        let e = await ctError { _ = try await load(["HOME": "/home/u", "AWS_PROFILE": "prod"], [Self.credsPath: "[default]\n"]) }
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.message.contains("\"prod\"") == true)
        #expect(e?.message.contains(Self.credsPath) == true)
        let e2 = await ctError { _ = try await load(["HOME": "/home/u", "AWS_PROFILE": "prod"], [Self.configPath: "[profile prod]\nregion = x\n"]) }
        #expect(e2?.isCredentialsNotConfigured == false)
        #expect(e2?.message.contains("aws_access_key_id") == true)
    }

    @Test(arguments: ["role_arn", "sso_session", "sso_start_url", "credential_process", "web_identity_token_file"])
    func unsupportedSourcesNamed(key: String) async {
        let e = await ctError {
            _ = try await load(["HOME": "/home/u", "AWS_PROFILE": "admin"], [Self.configPath: """
                [profile admin]
                \(key) = something
                source_profile = default
                """])
        }
        #expect(e?.kind == .credentials)
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.message.contains(key) == true)
        #expect(e?.message.contains("\"admin\"") == true)
        #expect(e?.message.contains("not support") == true)
    }

    @Test func missingSecret() async {
        let e = await ctError { _ = try await load(Self.home, [Self.credsPath: "[default]\naws_access_key_id = AKIA\n"]) }
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.message.contains("aws_secret_access_key") == true)
    }

    @Test(arguments: [
        ("[default]\naws_access_key_id = A\nthis line has the secret s3cr3t\n", 3),
        ("[default\naws_access_key_id = A\n", 1),
        ("aws_secret_access_key = s3cr3t\n[default]\n", 1),
        ("[default]\n = s3cr3t\n", 2),
        ("  indented s3cr3t\n[default]\n", 1),
        ("[]\n", 1),
    ])
    func malformedFiles(text: String, line: Int) async {
        let e = await ctError { _ = try await load(Self.home, [Self.credsPath: text]) }
        #expect(e?.kind == .credentials)
        #expect(e?.isCredentialsNotConfigured == false)
        #expect(e?.message.contains("\(Self.credsPath) line \(line):") == true, "\(e?.message ?? "")")
        #expect(e?.message.contains("s3cr3t") == false)
    }

    @Test func unreadableFileIsReported() async {
        let reader: AWSFileReader = { path in
            if path == Self.credsPath { throw AWSError(.credentials, "cannot read \(path): Permission denied") }
            return nil
        }
        let e = await ctError { _ = try await SharedFilesCredentialsProvider(environment: Self.home, readFile: reader).credentials() }
        #expect(e?.message.contains("Permission denied") == true)
    }

    @Test func realFileReader() throws {
        #expect(try AWSSystem.readFile("/nonexistent/svcconf/credentials") == nil)
        #expect(try AWSSystem.readFile("/proc/self/status")?.contains("Pid:") == true)
        #expect(throws: AWSError.self) { _ = try AWSSystem.readFile("/proc/self/mem") }
    }
}

@Suite struct CredentialsRegionTests {
    @Test func precedence() throws {
        let files = ctFiles(["/h/.aws/config": "[default]\nregion = eu-west-1\n[profile p]\nregion = ap-south-1\n"])
        #expect(try AWSRegion.resolve(environment: ["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1", "HOME": "/h"], readFile: files) == "us-east-2")
        #expect(try AWSRegion.resolve(environment: ["AWS_DEFAULT_REGION": "us-west-1", "HOME": "/h"], readFile: files) == "us-west-1")
        #expect(try AWSRegion.resolve(environment: ["HOME": "/h"], readFile: files) == "eu-west-1")
        #expect(try AWSRegion.resolve(environment: ["HOME": "/h", "AWS_PROFILE": "p"], readFile: files) == "ap-south-1")
        #expect(try AWSRegion.resolve(environment: ["AWS_CONFIG_FILE": "/h/.aws/config", "AWS_PROFILE": "p"], readFile: files) == "ap-south-1")
    }

    @Test func missingNamesAllThree() {
        for env in [["HOME": "/h"], [:], ["HOME": "/h", "AWS_PROFILE": "nope"], ["AWS_REGION": ""]] {
            do {
                _ = try AWSRegion.resolve(environment: env, readFile: ctFiles(["/h/.aws/config": "[default]\noutput = json\n"]))
                Issue.record("expected an error")
            } catch let e as AWSError {
                #expect(e.message.contains("AWS_REGION"))
                #expect(e.message.contains("AWS_DEFAULT_REGION"))
                #expect(e.message.contains("region in the"))
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func invalidRegionRefused() {
        #expect(throws: AWSError.self) { _ = try AWSRegion.resolve(environment: ["AWS_REGION": "evil.com/x"], readFile: ctFiles([:])) }
        #expect(throws: AWSError.self) {
            _ = try AWSRegion.resolve(environment: ["HOME": "/h"], readFile: ctFiles(["/h/.aws/config": "[default]\nregion = US EAST\n"]))
        }
        #expect(throws: AWSError.self) {
            _ = try AWSRegion.resolve(environment: ["HOME": "/h"], readFile: ctFiles(["/h/.aws/config": "[default\n"]))
        }
        #expect(AWSRegion.isValid("us-gov-west-1"))
        #expect(!AWSRegion.isValid("-us"))
        #expect(!AWSRegion.isValid(""))
    }
}

/// A provider that counts calls and answers from a closure.
struct CTCountingProvider: AWSCredentialsProvider {
    let calls = CTBox(0)
    let delayNanos: UInt64
    let answer: @Sendable (Int) throws -> AWSCredentials
    init(delayNanos: UInt64 = 0, answer: @escaping @Sendable (Int) throws -> AWSCredentials) {
        self.delayNanos = delayNanos
        self.answer = answer
    }
    func credentials() async throws -> AWSCredentials {
        let n = calls.update { $0 += 1; return $0 }
        if delayNanos > 0 { try await Task.sleep(nanoseconds: delayNanos) }
        return try answer(n)
    }
}

@Suite struct CredentialsChainTests {
    let filesEnv = ["HOME": "/h"]
    let files = ctFiles(["/h/.aws/credentials": "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n"])

    @Test func environmentBeforeFiles() async throws {
        var env = filesEnv
        env["AWS_ACCESS_KEY_ID"] = "AKIAENV"
        env["AWS_SECRET_ACCESS_KEY"] = "envsecret"
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let never = CTRecordingTransport { _ in throw AWSError(.connection, "no network in this test") }
        let c = try await AWSCredentialsChain.standard(environment: env, readFile: files, transport: never).credentials()
        #expect(c.accessKeyId == "AKIAENV")
        let c2 = try await AWSCredentialsChain.standard(environment: filesEnv.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 },
                                                        readFile: files, transport: never).credentials()
        #expect(c2.accessKeyId == "AKIAFILE")
        #expect(never.requests.isEmpty)
    }

    @Test func noneConfigured() async {
        let never = CTRecordingTransport { _ in throw AWSError(.connection, "no network in this test") }
        let e = await ctError {
            _ = try await AWSCredentialsChain.standard(environment: ["AWS_EC2_METADATA_DISABLED": "true"], readFile: ctFiles([:]), transport: never).credentials()
        }
        #expect(e == AWSError(.credentials, AWSCredentialsChain.noCredentialsMessage))
        #expect(e?.message.hasPrefix("no AWS credentials: set AWS_ACCESS_KEY_ID") == true)
        #expect(e?.message.contains("AWS_PROFILE") == true)
        #expect(e?.message.contains("ECS task role or EC2 instance profile") == true)
        #expect(never.requests.isEmpty)
    }

    @Test func imdsNotAnsweringAtTheDefaultAddressIsNotConfigured() async {
        // The default 169.254.169.254 endpoint "does not answer" (a transport double: no traffic leaves).
        let down = CTRecordingTransport { _ in throw AWSError(.timeout, "timed out") }
        let e = await ctError {
            _ = try await AWSCredentialsChain.standard(environment: [:], readFile: ctFiles([:]), transport: down).credentials()
        }
        #expect(e?.message == AWSCredentialsChain.noCredentialsMessage)
        #expect(down.requests.allSatisfy { $0.host == "169.254.169.254" && $0.method == "PUT" })
        #expect(down.requests.count == 2)  // one retry
    }

    @Test func configuredButBrokenIsReportedNotSkipped() async {
        // A broken shared-files profile, with working EC2-style credentials after it.
        let later = StaticCredentialsProvider(AWSCredentials(accessKeyId: "AKIALATER", secretAccessKey: "x"))
        let chain = AWSCredentialsChain([
            EnvironmentCredentialsProvider(environment: [:]),
            SharedFilesCredentialsProvider(environment: ["HOME": "/h"], readFile: ctFiles(["/h/.aws/credentials": "[default]\nbroken\n"])),
            later,
        ])
        let e = await ctError { _ = try await chain.credentials() }
        #expect(e?.message.contains("line 2") == true)
        // The ECS endpoint configured but unreachable (a closed port on loopback).
        let ecs = AWSCredentialsChain([
            EnvironmentCredentialsProvider(environment: [:]),
            ContainerCredentialsProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"],
                                         transport: ctTransport, timeout: 2, retry: ctFastRetry),
            later,
        ])
        let e2 = await ctError { _ = try await ecs.credentials() }
        #expect(e2?.kind == .connection || e2?.kind == .timeout)
        #expect(e2?.message.contains("container credentials endpoint 127.0.0.1:9") == true)
    }

    @Test func skipsNotConfiguredProviders() async throws {
        let chain = AWSCredentialsChain([
            EnvironmentCredentialsProvider(environment: [:]),
            InstanceMetadataCredentialsProvider(environment: ["AWS_EC2_METADATA_DISABLED": "TRUE"],
                                                transport: CTRecordingTransport { _ in throw AWSError(.connection, "x") }),
            StaticCredentialsProvider(AWSCredentials(accessKeyId: "AKIALAST", secretAccessKey: "x")),
        ])
        #expect(try await chain.credentials().accessKeyId == "AKIALAST")
    }
}

@Suite struct CredentialsCacheTests {
    static let t0: Int64 = 1_800_000_000

    @Test func refreshesFiveMinutesBeforeExpiry() async throws {
        let now = CTBox(Self.t0)
        let provider = CTCountingProvider { n in
            AWSCredentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s", sessionToken: "t", expiration: Self.t0 + 3600 * Int64(n))
        }
        let cache = AWSCredentialsCache(provider, clock: { now.value })
        #expect(try await cache.credentials().accessKeyId == "AKIA1")
        now.value = Self.t0 + 3600 - 301
        #expect(try await cache.credentials().accessKeyId == "AKIA1")
        #expect(provider.calls.value == 1)
        now.value = Self.t0 + 3600 - 300
        #expect(try await cache.credentials().accessKeyId == "AKIA2")
        #expect(provider.calls.value == 2)
        #expect(try await cache.credentials().accessKeyId == "AKIA2")
        #expect(provider.calls.value == 2)
    }

    @Test func withoutExpirationKeptUntilInvalidated() async throws {
        let provider = CTCountingProvider { n in AWSCredentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s") }
        let cache = AWSCredentialsCache(provider, clock: { Self.t0 })
        for _ in 0..<5 { #expect(try await cache.credentials().accessKeyId == "AKIA1") }
        await cache.invalidate()
        #expect(try await cache.credentials().accessKeyId == "AKIA2")
    }

    @Test func oneRefreshAtATime() async throws {
        let provider = CTCountingProvider(delayNanos: 100_000_000) { n in
            AWSCredentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s", expiration: Self.t0 + 3600)
        }
        let cache = AWSCredentialsCache(provider, clock: { Self.t0 })
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.credentials().accessKeyId } }
            var out: [String] = []
            for try await id in group { out.append(id) }
            return out
        }
        #expect(ids == Array(repeating: "AKIA1", count: 20))
        #expect(provider.calls.value == 1)
    }

    @Test func failedRefreshKeepsUnexpiredCredentials() async throws {
        let now = CTBox(Self.t0)
        let provider = CTCountingProvider { n in
            if n > 1 { throw AWSError(.connection, "endpoint down") }
            return AWSCredentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s", expiration: Self.t0 + 600)
        }
        let cache = AWSCredentialsCache(provider, clock: { now.value })
        _ = try await cache.credentials()
        now.value = Self.t0 + 400  // inside the refresh window, not expired
        #expect(try await cache.credentials().accessKeyId == "AKIA1")
        #expect(provider.calls.value == 2)
        now.value = Self.t0 + 600  // expired: the refresh error surfaces
        let e = await ctError { _ = try await cache.credentials() }
        #expect(e?.kind == .connection)
    }

    @Test func alreadyExpiredCredentialsRefused() async {
        let provider = CTCountingProvider { _ in AWSCredentials(accessKeyId: "A", secretAccessKey: "s", expiration: Self.t0 - 1) }
        let cache = AWSCredentialsCache(provider, clock: { Self.t0 })
        let e = await ctError { _ = try await cache.credentials() }
        #expect(e?.message.contains("expired") == true)
    }
}

@Suite struct CredentialsSupportTests {
    @Test func rfc3339() {
        #expect(CredentialsSupport.parseRFC3339("1970-01-01T00:00:00Z") == 0)
        #expect(CredentialsSupport.parseRFC3339("2030-01-02T03:04:05Z") == 1_893_553_445)
        #expect(CredentialsSupport.parseRFC3339("2030-01-02T03:04:05.123456Z") == 1_893_553_445)
        #expect(CredentialsSupport.parseRFC3339("2030-01-02T05:04:05+02:00") == 1_893_553_445)
        #expect(CredentialsSupport.parseRFC3339("2030-01-01T22:04:05-05:00") == 1_893_553_445)
        #expect(CredentialsSupport.parseRFC3339("2024-02-29T00:00:00Z") == 1_709_164_800)
        for bad in ["", "2030-01-02", "2030-01-02T03:04:05", "2023-02-29T00:00:00Z", "2030-13-01T00:00:00Z",
                    "2030-01-02T03:04:05Zjunk", "2030-01-02T24:00:00Z", "2030-1-02T03:04:05Z"] {
            #expect(CredentialsSupport.parseRFC3339(bad) == nil, "\(bad)")
        }
        #expect(CredentialsSupport.formatRFC3339(1_893_553_445) == "2030-01-02T03:04:05Z")
    }

    @Test func urls() {
        let u = AWSURLParts.parse("http://127.0.0.1:8080/v1/creds?a=b%2Fc&d")!
        #expect(u.scheme == "http" && u.hostname == "127.0.0.1" && u.port == 8080 && u.path == "/v1/creds")
        #expect(u.query.map { $0.name + "=" + $0.value } == ["a=b/c", "d="])
        #expect(u.hostHeader == "127.0.0.1:8080")
        #expect(u.isLoopback)
        #expect(AWSURLParts.parse("https://kms.us-east-1.amazonaws.com:443")!.hostHeader == "kms.us-east-1.amazonaws.com")
        #expect(AWSURLParts.parse("https://kms.us-east-1.amazonaws.com")!.path == "/")
        let v6 = AWSURLParts.parse("http://[::1]:99/x")!
        #expect(v6.hostname == "::1" && v6.isLoopback && v6.hostHeader == "[::1]:99")
        #expect(AWSURLParts.parse("HTTP://LocalHost/")!.isLoopback)
        #expect(AWSURLParts.parse("http://127.9.8.7/")!.isLoopback)
        #expect(!AWSURLParts.parse("http://127.0.0.1.evil.com/")!.isLoopback)
        #expect(!AWSURLParts.parse("http://10.0.0.1/")!.isLoopback)
        for bad in ["ftp://x/", "http://", "http://user@127.0.0.1/", "http://a b/", "http://x:0/", "http://x:65536/",
                    "http://x:/", "127.0.0.1:80", "http://[::1/", "http://x/\n"] {
            #expect(AWSURLParts.parse(bad) == nil, "\(bad)")
        }
    }
}
