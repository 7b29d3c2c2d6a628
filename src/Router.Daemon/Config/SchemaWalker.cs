using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Router.Daemon.Config;

/// <summary>
/// Walks the keys Microsoft.Extensions.Configuration read from the file against <see cref="ConfigSchema"/>, before
/// anything is bound: unknown fields (the binder would silently drop them), inline secrets, values of the wrong type
/// or out of range. The provider keeps no JSON types ("51820" and 51820 read the same), so a number is whatever
/// parses as one. Values of unknown fields are never repeated: they might be keys.
/// </summary>
internal static class SchemaWalker
{
    /// <summary>Adds every problem to <paramref name="problems"/>; returns false if binding would fail on a value.</summary>
    public static bool Walk(IConfiguration root, List<ConfigProblem> problems)
    {
        bool bindable = true;
        WalkObject(root.GetChildren(), "", ConfigSchema.Root, problems, ref bindable);
        return bindable;
    }

    private static void Walk(IConfigurationSection section, string path, SchemaNode node, List<ConfigProblem> problems, ref bool bindable)
    {
        var children = section.GetChildren().ToList();
        // An empty JSON object or array reads as a key with a null value and no children, JSON null as "".
        bool isEmpty = children.Count == 0 && string.IsNullOrEmpty(section.Value);
        switch (node)
        {
            case ObjectNode obj:
                if (children.Count == 0 && !isEmpty)
                {
                    problems.Add(ConfigProblem.Error(path, "expected an object { ... }, found a value"));
                    bindable = false;
                }
                else
                    WalkObject(children, path, obj, problems, ref bindable);
                break;
            case MapNode map:
                if (children.Count == 0 && !isEmpty)
                {
                    problems.Add(ConfigProblem.Error(path, "expected an object of named entries { \"name\": { ... } }, found a value"));
                    bindable = false;
                }
                foreach (var child in children)
                    Walk(child, Join(path, child.Key), map.Value, problems, ref bindable);
                break;
            case ArrayNode array:
                if (children.Count == 0 && !isEmpty)
                {
                    problems.Add(ConfigProblem.Error(path, "expected an array [ ... ], found a single value"));
                    bindable = false;
                    break;
                }
                for (int i = 0; i < children.Count; i++)
                {
                    // The provider numbers array elements 0..n-1; other keys mean an object where an array belongs.
                    if (!int.TryParse(children[i].Key, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= children.Count)
                    {
                        problems.Add(ConfigProblem.Error(path, "expected an array [ ... ], found an object"));
                        bindable = false;
                        break;
                    }
                }
                foreach (var child in children.OrderBy(c => int.TryParse(c.Key, out int i) ? i : int.MaxValue))
                    Walk(child, $"{path}[{child.Key}]", array.Item, problems, ref bindable);
                break;
            default:
                WalkValue(section, children.Count, path, node, problems, ref bindable);
                break;
        }
    }

    private static void WalkObject(IEnumerable<IConfigurationSection> children, string path, ObjectNode node, List<ConfigProblem> problems, ref bool bindable)
    {
        foreach (var child in children)
        {
            string childPath = Join(path, child.Key);
            if (node.Fields.TryGetValue(child.Key, out var field))
            {
                Walk(child, childPath, field, problems, ref bindable);
                continue;
            }
            if (ConfigSchema.InlineSecrets.TryGetValue(child.Key, out string? fileField))
            {
                problems.Add(ConfigProblem.Error(childPath,
                    $"secrets are not allowed in the configuration: write the key to a file with mode 0600 (e.g. 'umask 077; wg genkey > /etc/router/key') and name it in \"{fileField}\""));
                continue;
            }
            string? similar = node.Fields.Keys.FirstOrDefault(k => string.Equals(k, child.Key, StringComparison.OrdinalIgnoreCase));
            string expected = string.Join(", ", node.Fields.Keys.Where(k => k != ConfigSchema.SchemaField));
            problems.Add(ConfigProblem.Error(childPath, similar is not null
                ? $"unknown field '{child.Key}': names are case-sensitive, did you mean '{similar}'?"
                : $"unknown field '{child.Key}'; expected one of: {expected}"));
        }
    }

    private static void WalkValue(IConfigurationSection section, int childCount, string path, SchemaNode node, List<ConfigProblem> problems, ref bool bindable)
    {
        if (childCount > 0)
        {
            problems.Add(ConfigProblem.Error(path, $"expected {Describe(node)}, found an object or array"));
            bindable = false;
            return;
        }
        string? value = section.Value;
        switch (node)
        {
            case IntegerNode range:
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number))
                {
                    problems.Add(ConfigProblem.Error(path, $"expected {Describe(node)}, found {Quote(value)}"));
                    bindable = false;
                }
                else if (number < range.Minimum || number > range.Maximum)
                {
                    problems.Add(ConfigProblem.Error(path, $"{number} is out of range; expected {Describe(node)}"));
                    // The binding classes hold int except fwmark (long): only values past int's range stop binding.
                    if (range.Maximum <= int.MaxValue && number is < int.MinValue or > int.MaxValue)
                        bindable = false;
                }
                break;
            case BooleanNode:
                if (!bool.TryParse(value, out _))
                {
                    problems.Add(ConfigProblem.Error(path, $"expected {Describe(node)}, found {Quote(value)}"));
                    bindable = false;
                }
                break;
            case StringNode:
                if (string.IsNullOrEmpty(value))
                    problems.Add(ConfigProblem.Error(path, "expected a non-empty string"));
                break;
        }
    }

    public static string Describe(SchemaNode node) => node switch
    {
        IntegerNode r => $"an integer from {r.Minimum} to {r.Maximum}",
        BooleanNode => "true or false",
        StringNode => "a string",
        ArrayNode => "an array",
        _ => "an object",
    };

    private static string Quote(string? value) => string.IsNullOrEmpty(value) ? "nothing" : $"'{value}'";

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
