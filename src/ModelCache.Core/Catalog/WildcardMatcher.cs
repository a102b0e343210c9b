using System.Text;
using System.Text.RegularExpressions;

namespace ModelCache.Catalog;

/// <summary>
/// Matches names against <c>*</c>, <c>?</c> and <c>[abc]</c> patterns, case-insensitively, the way
/// PowerShell wildcards do, without depending on PowerShell.
/// </summary>
public sealed class WildcardMatcher
{
    private readonly Regex _regex;

    public WildcardMatcher(string pattern)
    {
        var builder = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*': builder.Append(".*"); break;
                case '?': builder.Append('.'); break;
                case '`' when i + 1 < pattern.Length: builder.Append(Regex.Escape(pattern[++i].ToString())); break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close > i + 1)
                    {
                        builder.Append('[').Append(pattern.Substring(i + 1, close - i - 1).Replace("\\", "\\\\")).Append(']');
                        i = close;
                    }
                    else
                    {
                        builder.Append(Regex.Escape("["));
                    }

                    break;
                default: builder.Append(Regex.Escape(c.ToString())); break;
            }
        }

        _regex = new Regex(builder.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    }

    public static bool HasWildcard(string text) => text.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    public bool IsMatch(string text) => _regex.IsMatch(text);
}
