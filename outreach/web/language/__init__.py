"""The staff screens in the reader's language (S12, issue 22 item 8): choosing the language,
the catalogue a page reads, stored values and the services' sentences shown in words.
"""
