using System.Globalization;

namespace Router.Protocol;

/// <summary>
/// Strict parsing of numeric query parameters: one value, invariant culture (a decimal point, never a group or
/// culture-specific separator: <c>1,5</c> is an error, not 15), and finite (no <c>NaN</c> or <c>Infinity</c>). Used for
/// the consumer WebSocket's <c>timeout</c> and <c>max_fps</c> and HTTP ingest's <c>timestamp</c>. Never throws.
/// </summary>
public static class QueryNumbers
{
    /// <summary>
    /// Parses a decimal number such as <c>10</c>, <c>0.5</c>, <c>-2</c> or <c>1e3</c> (optional sign, decimal point and
    /// exponent, surrounding white space ignored). False for a repeated parameter, thousands separators, hex, NaN and
    /// infinities, and values that overflow a double.
    /// </summary>
    /// <param name="values">Every value the query gives the parameter (ASP.NET's <c>StringValues</c> is one).</param>
    /// <param name="value">The number when the result is true; 0 otherwise.</param>
    public static bool TryParseFiniteDouble(IReadOnlyList<string?> values, out double value)
    {
        value = 0;
        return values.Count == 1 &&
               double.TryParse(values[0], NumberStyles.Float, CultureInfo.InvariantCulture, out value) &&
               double.IsFinite(value);
    }

    /// <summary>Parses an integer with an optional leading <c>-</c>, digits only (no white space, sign <c>+</c> allowed), into a long.</summary>
    /// <param name="values">Every value the query gives the parameter (ASP.NET's <c>StringValues</c> is one).</param>
    /// <param name="value">The number when the result is true; 0 otherwise.</param>
    public static bool TryParseInt64(IReadOnlyList<string?> values, out long value)
    {
        value = 0;
        return values.Count == 1 &&
               long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }
}
