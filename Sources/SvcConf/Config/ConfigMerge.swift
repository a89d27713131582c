/// Three-way merge of configs, for an edit that lost a race: the changes from `base` to `mine`
/// applied on top of `theirs` (a newer version someone else wrote meanwhile). Granularity: a
/// top-level key, a file, a file deletion. Where both sides changed the same one differently, theirs
/// is kept and the name is reported as a collision (the editor re-opens for the user to decide).
public enum ConfigMerge {
    /// The merged config and the names of colliding keys (`KEY`) and files (`file NAME`).
    public static func threeWay(base: Config, mine: Config, theirs: Config) -> (merged: Config, collisions: [String]) {
        var out = theirs
        var collisions: [String] = []
        for key in Set(base.values.keys).union(mine.values.keys).sorted() {
            let b = base.values[key], m = mine.values[key], t = theirs.values[key]
            guard m != b else { continue }  // I did not touch it: theirs stands
            if t == b || t == m { out.values[key] = m } else { collisions.append(key) }
        }
        for name in Set(base.files.keys).union(mine.files.keys).sorted() {
            let b = base.files[name], m = mine.files[name], t = theirs.files[name]
            guard m != b else { continue }
            if t == b || t == m { out.files[name] = m } else { collisions.append("file " + name) }
        }
        for name in base.deletedFiles.symmetricDifference(mine.deletedFiles).sorted() {
            let b = base.deletedFiles.contains(name), m = mine.deletedFiles.contains(name), t = theirs.deletedFiles.contains(name)
            if t == b || t == m {
                if m { out.deletedFiles.insert(name) } else { out.deletedFiles.remove(name) }
            } else {
                collisions.append("file " + name)
            }
        }
        out.deletedFiles.subtract(out.files.keys)
        return (out, collisions)
    }
}
