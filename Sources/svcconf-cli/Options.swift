#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import SvcConf
import SvcConfYAML
import SvcConfAWS
import SvcConfHTTP

/// Flags every command takes: where the store is, which keys to use, who is writing.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Store URL: file:PATH or s3://BUCKET[/PREFIX] (default: $SVCCONF_STORE, else file:.svcconf).", valueName: "url"))
    var store: String?

    @Option(name: .customLong("key-file"), help: ArgumentHelp("A local key file to open or seal with (repeatable; default: $SVCCONF_KEY_FILE, colon-separated, else the policy's key paths).", valueName: "path"))
    var keyFiles: [String] = []

    @Option(name: .long, help: ArgumentHelp("Author recorded in new versions (default: $SVCCONF_AUTHOR, else for s3:// stores the AWS principal's ARN, else the OS user).", valueName: "name"))
    var author: String?

    @Option(name: .customLong("endpoint-url"), help: ArgumentHelp("S3 endpoint for s3:// stores (default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS).", valueName: "url"))
    var endpointURL: String?

    var storeURL: String {
        if let store { return store }
        if let env = getenv("SVCCONF_STORE"), env.pointee != 0 { return String(cString: env) }
        return StoreLocator.defaultURL
    }

    /// `--author` or `$SVCCONF_AUTHOR`, if given.
    var explicitAuthor: String? {
        if let author { return author }
        if let env = getenv("SVCCONF_AUTHOR"), env.pointee != 0 { return String(cString: env) }
        return nil
    }

    var resolvedAuthor: String {
        if let explicitAuthor { return explicitAuthor }
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return String(cString: name) }
        return "unknown"
    }

    /// The repository these flags describe. AWS clients (S3 for an s3:// store, KMS for kms:
    /// recipients) use the standard credential chain and region; nothing is contacted until needed.
    func repository() throws -> ConfigRepository {
        let transport = LazyURLSessionTransport()
        var s3: S3Client?
        if storeURL.hasPrefix("s3://") {
            do {
                s3 = try S3Client.fromEnvironment(transport: transport, endpoint: endpointURL)
            } catch let e as AWSError {
                throw SvcConfError(.usage, "cannot set up S3 for \(storeURL): \(e.message)",
                                   hint: "set AWS_REGION (or AWS_DEFAULT_REGION, or region in the AWS profile)")
            }
        }
        let kms = try? KMSClient.fromEnvironment(transport: transport)
        let store = try StoreLocator.open(storeURL, s3: s3)
        let paths = keyFiles.isEmpty ? Keyring.pathsFromEnvironment() : keyFiles
        var repo = ConfigRepository(store: store, keyring: try Keyring.load(paths: paths, kms: kms), author: resolvedAuthor,
                                    parseYAML: YAMLFiles.parse)
        if s3 != nil, explicitAuthor == nil, let sts = try? STSClient.fromEnvironment(transport: transport) {
            // Writes to an S3 store record the AWS principal (GetCallerIdentity, asked once, only when
            // something is written); the OS user if STS cannot be reached.
            let fallback = resolvedAuthor
            let memo = AuthorMemo()
            repo.authorResolver = {
                if let known = memo.value { return known }
                let name = (try? await sts.callerIdentity().arn) ?? fallback
                memo.value = name
                return name
            }
        }
        return repo
    }
}

/// `SVC --env E [--variant V]`: which config a command works on.
struct TargetOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The service (e.g. access-boston).", valueName: "service"))
    var service: String

    @Option(name: .long, help: ArgumentHelp("The environment (e.g. staging, prod).", valueName: "env"))
    var env: String

    @Option(name: .long, help: ArgumentHelp("A variant inside the environment (e.g. dev).", valueName: "variant"))
    var variant: String?

    func address() throws -> ConfigAddress {
        try ConfigAddress(service: service, env: env, variant: variant)
    }
}

/// `--format` for commands whose output is a document.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case yaml, json, env
}

/// `--format` for tables and diffs.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// YAML file contents for schema checks.
enum YAMLFiles {
    @Sendable static func parse(_ name: String, _ bytes: [UInt8]) throws -> ConfigValue {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SvcConfError(.invalidInput, "\(name): not valid UTF-8")
        }
        return try YAMLCodec.parse(text, source: name)
    }
}

/// The author resolved once per process.
final class AuthorMemo: @unchecked Sendable {
    private let lock = NSLockLike()
    private var stored: String?
    var value: String? {
        get { lock.locked { stored } }
        set { lock.locked { stored = newValue } }
    }
}

/// A pthread mutex (the CLI avoids Foundation's NSLock on this path).
final class NSLockLike: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
