# cmake -DIN=page.html -DOUT=page.c -P embed.cmake: the page as the C string flame_page_html.
file(READ ${IN} text)
string(REPLACE "\\" "\\\\" text "${text}")
string(REPLACE "\"" "\\\"" text "${text}")
string(REPLACE "\n" "\\n\"\n\"" text "${text}")
file(WRITE ${OUT} "/* Generated from flame/page.html by flame/embed.cmake. */\n"
     "const char flame_page_html[] =\n\"${text}\";\n")
