"""`python -m resultsformat`: print the tick-row column table (the README's "Reading results" table is this output)."""

from resultsformat.columns import markdown_table

if __name__ == "__main__":
    print(markdown_table())
